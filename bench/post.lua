-- wrk script for a POST with a JSON body (the first argument after --),
-- with bench/report.lua's summary line. The request is formatted once, so
-- the client does the same work per request as for a GET.
local req
init = function(args)
  req = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, args[1])
end
request = function() return req end
dofile("bench/report.lua")

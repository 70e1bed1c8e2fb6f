/*
 * The browser side of live queries, served at /_cairn/live.js: no build
 * step, one small script. window.cairnLive.connect() opens the socket of
 * docs/sync-protocol.md and gives:
 *   client.subscribe(path, args, onValue, onError) -> unsubscribe()
 *   client.mutation(path, args) -> Promise of the result, settled once a
 *     transition shows the write (its ts reached), so the UI never shows
 *     the old value after the promise resolved
 *   client.action(path, args) -> Promise
 *   client.setAuth(token), client.state ("connecting" | "open" |
 *     "closed"), client.onState(fn)
 * and cairnLive.regions(), which pages with live regions call: every
 * <cairn-live> element is subscribed with its region, and each new HTML
 * the server renders for it replaces its content (a "cairn:live" event
 * follows on document).
 * A lost connection comes back with exponential backoff (with jitter, at
 * most 10 s) and resubscribes everything; calls made meanwhile wait.
 */
#include "live/live.h"

static const char script[] =
    "(function(){\n"
    "if(window.cairnLive)return;\n"
    "function Client(o){o=o||{};var c=this;c.url=o.url||((location.protocol==='https:'?'wss://':'ws://')+location.host+'/_cairn/sync');\n"
    " c.token=o.token||null;c.subs={};c.nextQ=1;c.nextR=1;c.calls={};c.waits=[];c.state='connecting';c.stateFns=[];c.tries=0;c.ts=0;c.open();}\n"
    "var P=Client.prototype;\n"
    "P.setState=function(s){this.state=s;this.stateFns.forEach(function(f){try{f(s)}catch(e){}})};\n"
    "P.onState=function(f){this.stateFns.push(f);f(this.state)};\n"
    "P.send=function(m){if(this.ws&&this.ws.readyState===1)this.ws.send(JSON.stringify(m))};\n"
    "P.open=function(){var c=this,ws;c.qs=0;c.ts=0;c.auths=0;\n"
    " try{ws=c.ws=new WebSocket(c.url,'cairn.sync.1')}catch(e){return c.retry()}\n"
    " ws.onopen=function(){c.tries=0;c.setState('open');\n"
    "  if(c.token){c.send({type:'authenticate',token:c.token,baseVersion:0});c.auths=1}\n"
    "  var adds=Object.keys(c.subs).map(function(k){var s=c.subs[k],a={type:'add',queryId:+k,path:s.path,args:s.args};if(s.region)a.region=s.region;return a});\n"
    "  if(adds.length){c.send({type:'modify',baseVersion:0,newVersion:1,modifications:adds});c.qs=1}\n"
    "  Object.keys(c.calls).forEach(function(r){var k=c.calls[r];if(!k.sent){k.sent=1;c.send(k.msg)}});};\n"
    " ws.onmessage=function(e){var m;try{m=JSON.parse(e.data)}catch(x){return}c.handle(m)};\n"
    " ws.onclose=function(){if(c.ws!==ws)return;c.ws=null;\n"
    "  Object.keys(c.calls).forEach(function(r){c.calls[r].sent=0});c.setState('connecting');c.retry()};};\n"
    "P.retry=function(){var c=this,d=Math.min(10000,100*Math.pow(2,c.tries++));if(c.closed)return;\n"
    " setTimeout(function(){c.open()},d/2+Math.random()*d/2)};\n"
    "P.close=function(){this.closed=1;if(this.ws)this.ws.close(1000);this.setState('closed')};\n"
    "P.handle=function(m){var c=this;\n"
    " if(m.type==='transition'){c.ts=Math.max(c.ts,+m.endVersion.ts);\n"
    "  m.modifications.forEach(function(x){var s=c.subs[x.queryId];if(!s)return;\n"
    "   if(x.type==='updated'){s.value=x.value;s.has=1;try{s.onValue(x.value,x.html)}catch(e){console.error(e)}}\n"
    "   else if(x.type==='failed'&&s.onError){try{s.onError(x)}catch(e){console.error(e)}}});\n"
    "  c.waits=c.waits.filter(function(w){if(+w.ts<=c.ts){w.done();return false}return true});}\n"
    " else if(m.type==='mutationResponse'||m.type==='actionResponse'){var k=c.calls[m.requestId];if(!k)return;delete c.calls[m.requestId];\n"
    "  if(!m.success){var err=new Error(m.errorMessage);err.code=m.code;err.errors=m.errors;k.reject(err);return}\n"
    "  if(m.type==='actionResponse'||+m.ts<=c.ts)k.resolve(m.result);\n"
    "  else c.waits.push({ts:m.ts,done:function(){k.resolve(m.result)}});}\n"
    " else if(m.type==='authError'){if(c.onAuthError)c.onAuthError(m.error)}\n"
    " else if(m.type==='fatal'){console.error('cairn live: '+m.error)}};\n"
    "P.subscribe=function(path,args,onValue,onError,region){var c=this,id=c.nextQ++;args=args||{};\n"
    " c.subs[id]={path:path,args:args,onValue:onValue,onError:onError,region:region};\n"
    " var add={type:'add',queryId:id,path:path,args:args};if(region)add.region=region;\n"
    " c.send({type:'modify',baseVersion:c.qs,newVersion:c.qs+1,modifications:[add]});\n"
    " if(c.ws&&c.ws.readyState===1)c.qs++;\n"
    " return function(){if(!c.subs[id])return;delete c.subs[id];\n"
    "  if(c.ws&&c.ws.readyState===1){c.send({type:'modify',baseVersion:c.qs,newVersion:c.qs+1,modifications:[{type:'remove',queryId:id}]});c.qs++}}};\n"
    "P.call=function(type,path,args){var c=this,r=c.nextR++;return new Promise(function(res,rej){\n"
    " var k=c.calls[r]={msg:{type:type,requestId:r,path:path,args:args||{}},resolve:res,reject:rej};\n"
    " if(c.ws&&c.ws.readyState===1){k.sent=1;c.send(k.msg)}})};\n"
    "P.mutation=function(p,a){return this.call('mutation',p,a)};\n"
    "P.action=function(p,a){return this.call('action',p,a)};\n"
    "P.setAuth=function(t){var c=this;c.token=t||null;if(c.ws&&c.ws.readyState===1){c.send({type:'authenticate',token:c.token,baseVersion:c.auths});c.auths++}};\n"
    "function fnv(s){var b=new TextEncoder().encode(s),h=0x811c9dc5;for(var i=0;i<b.length;i++)h=Math.imul(h^b[i],16777619)>>>0;\n"
    " return('0000000'+h.toString(16)).slice(-8)}\n"
    "var shared;\n"
    "var bound=[];\n"
    "function regions(){shared=shared||new Client();\n"
    " bound=bound.filter(function(b){if(b.el.isConnected)return true;b.off();return false});\n"
    " document.querySelectorAll('cairn-live:not([data-live])').forEach(function(el){el.setAttribute('data-live','');\n"
    "  var args={};try{args=JSON.parse(el.getAttribute('data-args')||'{}')}catch(e){}\n"
    "  bound.push({el:el,off:shared.subscribe(el.getAttribute('data-query'),args,function(v,html){if(html==null)return;\n"
    "   var h=fnv(html);if(h===el.getAttribute('data-h')||el.innerHTML===html)return;el.setAttribute('data-h',h);el.innerHTML=html;\n"
    "   document.dispatchEvent(new CustomEvent('cairn:live',{detail:{element:el,value:v}}))},null,el.getAttribute('data-region'))})});\n"
    " return shared}\n"
    "window.cairnLive={connect:function(o){return new Client(o)},regions:function(){\n"
    " if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',regions);else regions();return shared||(shared=new Client())}};\n"
    "})();\n";

const char *cn__live_script(void) { return script; }

/*
 * An error page's retry control, Next.js's reset(): {{#error.reset}}Try
 * again{{/error.reset}} in an error.html is a link to the page's own URL,
 * so without JavaScript it reloads the page. The script written once after
 * it fetches that URL, and puts what the segment renders now where the
 * error stands, leaving the rest of the page (and the state of its
 * islands) as it was:
 *
 * the error's content sits in <cairn-error> (cn__page_reset_box; only an
 * error page with a retry control has the box, the others are exactly
 * what their template wrote) where the
 * failed segment would have been, in the {{{children}}} of the layout
 * above it. The layouts above render the same elements again, so the box's
 * parent is found in the new document by the same path of child indexes
 * from <body>, and the segment is what stands there between the siblings
 * that came before and after the box. A streamed answer's sections are
 * moved into place first, as $cn does. Should the new document not have
 * that shape (a layout that changed), or the fetch fail, the script loads
 * the page instead. It then fires cairn:reset on document with the parent
 * in detail.element, where the islands script looks for islands to mount
 * (and loads that script when the error page had none).
 */
#include <stdio.h>

#include "page/page_int.h"

static const char script[] =
    "<script>(function(){if(window.cairnReset)return;window.cairnReset=1;\n"
    "function idx(n){return Array.prototype.indexOf.call(n.parentNode.childNodes,n)}\n"
    "document.addEventListener('click',function(e){\n"
    " var a=e.target.closest&&e.target.closest('a[data-cairn-reset]');\n"
    " if(!a||e.button||e.metaKey||e.ctrlKey||e.shiftKey||e.altKey)return;\n"
    " var box=a.closest('cairn-error');if(!box)return;e.preventDefault();\n"
    " var par=box.parentNode,path=[],n=par;\n"
    " while(n&&n!==document.body){path.unshift(idx(n));n=n.parentNode}\n"
    " var at=idx(box),after=par.childNodes.length-at-1;\n"
    " fetch(a.href,{cache:'no-store',credentials:'same-origin'}).then(function(r){return r.text()}).then(function(t){\n"
    "  var d=new DOMParser().parseFromString(t,'text/html');\n"
    "  d.querySelectorAll('div[id^=\"cc\"]').forEach(function(c){var f=d.getElementById('cd'+c.id.slice(2));\n"
    "   if(f){f.replaceWith.apply(f,Array.prototype.slice.call(c.childNodes));c.remove()}});\n"
    "  var p=d.body;for(var i=0;p&&i<path.length;i++)p=p.childNodes[path[i]];\n"
    "  if(!p||p.nodeName!==par.nodeName||p.childNodes.length<at+after)throw new Error('shape');\n"
    "  var nodes=Array.prototype.slice.call(p.childNodes,at,p.childNodes.length-after);\n"
    "  box.replaceWith.apply(box,nodes.map(function(x){return document.importNode(x,true)}));\n"
    "  if(d.title)document.title=d.title;\n"
    "  if(!window.cairnIslands&&par.querySelector('cairn-island')){var s=document.createElement('script');\n"
    "   s.src='/_cairn/islands.js';document.head.appendChild(s)}\n"
    "  document.dispatchEvent(new CustomEvent('cairn:reset',{detail:{element:par}}))\n"
    " }).catch(function(){location.assign(a.href)})})})();</script>";

int cn__page_reset_box(cn__buf *out, size_t at, int level) {
  char open[80];
  int n = snprintf(open, sizeof open,
                   "<cairn-error data-level=\"%d\" style=\"display:contents\">",
                   level);
  if (cn__buf_append(out, "</cairn-error>", 14) ||
      cn__buf_reserve(out, (size_t)n))
    return CN_ENOMEM;
  memmove(out->ptr + at + n, out->ptr + at, out->len - at);
  memcpy(out->ptr + at, open, (size_t)n);
  out->len += (size_t)n;
  return 0;
}

int cn__page_reset(cn__render *r, int open, cn__buf *out) {
  int rc;
  r->reset_used = 1;
  if (open) {
    cn_str path = cn_req_path(r->req), query = cn_req_query(r->req);
    rc = cn__buf_appendf(out, "<a href=\"");
    if (!rc)
      rc = cn__tpl_escape(out, path.ptr, path.len);
    if (!rc && query.len)
      rc = cn__buf_append(out, "?", 1) ||
           cn__tpl_escape(out, query.ptr, query.len);
    if (!rc)
      rc = cn__buf_appendf(out, "\" data-cairn-reset>");
    return rc ? CN_ENOMEM : 0;
  }
  rc = cn__buf_appendf(out, "</a>");
  if (!rc && !r->reset_script) {
    r->reset_script = 1;
    rc = cn__buf_append(out, script, sizeof script - 1);
  }
  return rc ? CN_ENOMEM : 0;
}

/*
 * The client script of Server Actions: progressive enhancement for forms a
 * template bound to an action. Without it the browser posts and the page
 * renders again; with it the form posts with fetch, the form is marked busy
 * (aria-busy, data-pending, its buttons disabled) while the action runs,
 * and the answer (the page rendered again, or where a redirect led) takes
 * the place of the page without a full reload. The new page's scripts
 * run, in order (a script with src first loads), as they would have on a
 * navigation: a page's live regions connect that way. No build step: one
 * small script, served by cairn.
 */
#include "actions/actions.h"

static const char script[] =
    "(function(){\n"
    "if(window.__cairnActions)return;window.__cairnActions=1;\n"
    "function run(root){var ss=[].slice.call(root.querySelectorAll('script'));\n"
    " (function next(){var o=ss.shift();if(!o)return;var n=document.createElement('script');\n"
    "  for(var i=0;i<o.attributes.length;i++)n.setAttribute(o.attributes[i].name,o.attributes[i].value);\n"
    "  n.text=o.text;if(o.src){n.onload=n.onerror=next;o.replaceWith(n)}else{o.replaceWith(n);next()}})()}\n"
    "document.addEventListener('submit',function(e){\n"
    " var f=e.target;if(!f||!f.hasAttribute||!f.hasAttribute('data-cairn-form'))return;\n"
    " var id=f.querySelector('input[name=\"$ACTION_ID\"]');if(!id||!window.fetch)return;\n"
    " e.preventDefault();\n"
    " var fd=new FormData(f);if(e.submitter&&e.submitter.name)fd.append(e.submitter.name,e.submitter.value);\n"
    " var files=f.querySelector('input[type=file]');\n"
    " var body=files?fd:new URLSearchParams(fd);\n"
    " var bs=f.querySelectorAll('button,input[type=submit]');\n"
    " f.setAttribute('aria-busy','true');f.setAttribute('data-pending','');\n"
    " for(var i=0;i<bs.length;i++)bs[i].disabled=true;\n"
    " fetch(f.getAttribute('action')||location.href,{method:'POST',body:body,credentials:'same-origin',\n"
    "  headers:{'Cairn-Action':id.value,'Accept':'text/html'}})\n"
    " .then(function(r){return r.text().then(function(t){return[r,t]})})\n"
    " .then(function(x){var r=x[0];\n"
    "  if(r.redirected&&r.url!==location.href)history.pushState(null,'',r.url);\n"
    "  var d=new DOMParser().parseFromString(x[1],'text/html');\n"
    "  if(d.title)document.title=d.title;var b=document.adoptNode(d.body);document.body.replaceWith(b);run(b);\n"
    "  document.dispatchEvent(new CustomEvent('cairn:action',{detail:{status:r.status}}));})\n"
    " .catch(function(){f.removeAttribute('data-cairn-form');f.submit();})\n"
    " .finally(function(){f.removeAttribute('aria-busy');f.removeAttribute('data-pending');\n"
    "  for(var i=0;i<bs.length;i++)bs[i].disabled=false;});\n"
    "});\n"
    "})();\n";

const char *cn__actions_script(void) { return script; }

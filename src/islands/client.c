/*
 * /_cairn/islands.js: finds <cairn-island> elements and mounts each one's
 * module with its props, at load, when the browser is idle, or when the
 * element comes into view. It looks again when a live region, a form's
 * action or an error page's retry replaces part of the page (the
 * cairn:live, cairn:action and cairn:reset events), so islands there
 * mount afresh with their new props while the others keep their state. A
 * module loads once however often it is used (the browser's module map).
 * A streamed section's islands are handed over as the section arrives
 * ($cn in src/page/stream.c, queued in window.$cnI until this runs).
 */
#include "islands/islands.h"

static const char script[] =
    "(function(){\n"
    "if(window.cairnIslands)return;\n"
    "function mount(el){var src=el.getAttribute('data-module'),props={};\n"
    " var s=el.querySelector('script[type=\"application/json\"]');\n"
    " try{props=JSON.parse(s?s.textContent:'{}')}catch(e){console.error('cairn island '+src+': bad props',e);return}\n"
    " import(src).then(function(m){var f=typeof m.default==='function'?m.default:m.mount;\n"
    "  if(typeof f!=='function')throw new Error('cairn island '+src+' exports no mount function');\n"
    "  el.setAttribute('data-mounted','');return f(el,props)})\n"
    " .catch(function(e){console.error(e);el.setAttribute('data-failed','')})}\n"
    "var seen=typeof IntersectionObserver==='function'?new IntersectionObserver(function(es){\n"
    " es.forEach(function(e){if(e.isIntersecting){seen.unobserve(e.target);mount(e.target)}})}):null;\n"
    "function scan(root){(root||document).querySelectorAll('cairn-island:not([data-seen])').forEach(function(el){\n"
    " el.setAttribute('data-seen','');var how=el.getAttribute('data-strategy');\n"
    " if(how==='visible'&&seen)seen.observe(el);\n"
    " else if(how==='idle')(window.requestIdleCallback||function(f){setTimeout(f,200)})(function(){mount(el)});\n"
    " else mount(el)})}\n"
    "window.cairnIslands={scan:scan};\n"
    "document.addEventListener('cairn:live',function(e){scan(e.detail&&e.detail.element)});\n"
    "document.addEventListener('cairn:action',function(){scan()});\n"
    "document.addEventListener('cairn:reset',function(e){scan(e.detail&&e.detail.element)});\n"
    "(window.$cnI||[]).forEach(function(p){scan(p)});\n"
    "if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',function(){scan()});else scan();\n"
    "})();\n";

const char *cn__islands_script(void) { return script; }

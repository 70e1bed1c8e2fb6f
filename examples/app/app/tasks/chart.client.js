// Done against open tasks as one stacked bar, its numbers in the caption.
// It sits below the list and loads only when scrolled to (the visible
// strategy): the list is what the page is for. Being inside the live
// region, it mounts afresh with new props whenever the tasks change.
const SVG = 'http://www.w3.org/2000/svg';

function bar(kind, from, n, total) {
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('class', kind);
  r.setAttribute('x', `${(100 * from) / total}%`);
  r.setAttribute('width', `${(100 * n) / total}%`);
  r.setAttribute('height', '100%');
  return r;
}

export default function mount(el, { done = 0, open = 0 }) {
  const total = done + open || 1;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('aria-hidden', 'true'); // the caption says it in words
  svg.append(bar('done', 0, done, total), bar('open', done, open, total));
  const caption = document.createElement('figcaption');
  caption.textContent = `${done} done · ${open} open`;
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.append(svg, caption);
  el.replaceChildren(figure);
}

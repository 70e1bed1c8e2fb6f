// A counter: starts at its props' start, counts clicks.
export default function mount(el, props) {
  let n = props.start;
  el.innerHTML = `<button class="counter">${n}</button>`;
  const b = el.querySelector('button');
  b.addEventListener('click', () => { n += 1; b.textContent = String(n); });
}

// Shows the props it was given as text.
export default function mount(el, props) {
  const pre = document.createElement('pre');
  pre.className = 'echo';
  pre.textContent = JSON.stringify(props);
  el.replaceChildren(pre);
}

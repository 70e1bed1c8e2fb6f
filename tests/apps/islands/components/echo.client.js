// Shows the props it was given, exactly, as text (never as HTML).
export function mount(el, props) {
  const pre = document.createElement('pre');
  pre.className = 'echo';
  pre.textContent = JSON.stringify(props);
  el.replaceChildren(pre);
}

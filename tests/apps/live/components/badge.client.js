// A client island inside a live region: mounted with the page, and again
// on every row the region gains.
export default function mount(el, props) {
  el.innerHTML = `<b class="badge">${props.n ?? 'new'}</b>`;
}

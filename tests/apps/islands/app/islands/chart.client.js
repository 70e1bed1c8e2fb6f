// Beside its page: found before components/. Loaded only when seen.
export default function mount(el, props) {
  el.innerHTML = `<svg class="chart" data-points="${props.points.length}"></svg>`;
}

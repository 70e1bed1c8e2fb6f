// A character count for the text field inside the island, which has a
// maxlength: its .hint becomes "12/200" as one types. Screen readers hear
// how many are left once typing pauses, not on every key: a live region
// that changed with each key would talk over the typing.
export default function mount(el) {
  const input = el.querySelector('input[maxlength]');
  const hint = el.querySelector('.hint');
  if (!input || !hint) return;
  const max = input.maxLength;
  const said = document.createElement('span');
  said.className = 'visually-hidden';
  said.setAttribute('aria-live', 'polite');
  hint.classList.add('count');
  hint.setAttribute('aria-hidden', 'true');
  hint.after(said);
  let pause;
  const show = () => {
    // .length counts UTF-16 units, as maxlength does: the count reaches
    // the limit exactly when the field stops taking more.
    const n = input.value.length;
    hint.textContent = `${n}/${max}`;
    hint.classList.toggle('full', n >= max);
    return n;
  };
  input.addEventListener('input', () => {
    const n = show();
    clearTimeout(pause);
    pause = setTimeout(() => { said.textContent = `${max - n} characters left`; }, 1000);
  });
  show();
}

// Copy buttons: each button[data-copy] copies the value (or text) of the
// element whose id it names. Without JavaScript the buttons stay hidden.
document.querySelectorAll("button[data-copy]").forEach(function (b) {
  var el = document.getElementById(b.dataset.copy);
  if (!el || !navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(el.value !== undefined ? el.value : el.textContent).then(function () {
      b.textContent = "Copied";
    });
  });
});

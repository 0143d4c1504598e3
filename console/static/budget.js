// The token budget slider: its number follows the slider as it moves.
// Without JavaScript the number shows the value the page was sent with.
document.querySelectorAll("input[type=range]").forEach(function (range) {
  var out = document.querySelector('output[for="' + range.id + '"]');
  if (!out) return;
  range.addEventListener("input", function () {
    out.textContent = range.value;
  });
});

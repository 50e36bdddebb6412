// The review pack's print button (inline handlers are refused by the CSP).
document.addEventListener("DOMContentLoaded", function () {
  var b = document.getElementById("print");
  if (b) b.addEventListener("click", function () { window.print(); });
});

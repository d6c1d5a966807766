// The diary's "Напечатать" buttons: the CSP forbids inline handlers, so they are bound here.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});

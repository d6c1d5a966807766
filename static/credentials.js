// Credentials pages: the "select all" box and the print button. The pages work without it.
for (const box of document.querySelectorAll("input[data-check-all]")) {
  box.addEventListener("change", () => {
    for (const b of box.form.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`)) {
      b.checked = box.checked;
    }
  });
}
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

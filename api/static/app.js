// Small progressive enhancements; every page works without them.
// - form[data-busy]: disable its buttons and show a progress text while the request runs.
// - form[data-confirm]: ask before submitting.
// - a reject needs a reason: refuse the click while the reason list is empty.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var confirmText = form.getAttribute("data-confirm");
  if (confirmText && !window.confirm(confirmText)) { ev.preventDefault(); return; }
  var submitter = ev.submitter;
  if (submitter && submitter.value === "reject") {
    var reason = form.querySelector("select[name=reason]");
    if (reason && !reason.value) {
      ev.preventDefault();
      reason.focus();
      var hint = form.querySelector(".hint");
      if (hint) { hint.textContent = "却下の理由を選んでください"; }
      return;
    }
  }
  var busy = form.getAttribute("data-busy");
  if (busy) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    var status = form.querySelector(".busy");
    if (status) { status.textContent = busy; status.hidden = false; }
    form.setAttribute("aria-busy", "true");
  }
});

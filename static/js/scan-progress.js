/* The progress page of a scanned notice read in the background (quotas.tasks): polls the
   upload's status (JSON, the uploader's own) every second and shows the pages read; when the
   reading is done or has failed, the page reloads and becomes the preview or the upload form
   with the reason. No inline script: the page loads this file. Without JavaScript the page
   refreshes itself every 3 seconds. */
(function () {
  "use strict";
  var box = document.getElementById("scan-progress");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var label = box.querySelector(".label");
  function show(status) {
    if (status.state === "done" || status.state === "failed") {
      label.textContent = box.dataset.done;
      window.location.reload();
      return false;
    }
    if (status.state === "running") {
      bar.max = Math.max(status.total, 1);
      bar.value = status.done;
      label.textContent = box.dataset.running
        .replace("%(done)s", status.done).replace("%(total)s", status.total);
    } else {
      label.textContent = box.dataset.queued;
    }
    return true;
  }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (status) { if (show(status)) { window.setTimeout(poll, 1000); } })
      .catch(function () { label.textContent = box.dataset.lost; });
  }
  window.setTimeout(poll, 1000);
})();

/* Notice upload with a visible progress bar: the file is sent with XMLHttpRequest so staff see
   how far the upload is, then "reading" while the server parses; the preview page replaces this
   one when it arrives. No inline script: the page loads this file. */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var box = document.getElementById("upload-progress");
  var bar = box.querySelector("progress");
  var label = box.querySelector(".label");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    box.hidden = false;
    form.querySelector("input[type=submit]").disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.max = e.total; bar.value = e.loaded;
        label.textContent = box.dataset.uploading + " " + Math.round(100 * e.loaded / e.total) + "%";
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");
      label.textContent = box.dataset.reading;
    });
    xhr.addEventListener("load", function () {
      document.open(); document.write(xhr.responseText); document.close();
      if (xhr.responseURL) { window.history.replaceState(null, "", xhr.responseURL); }
    });
    xhr.addEventListener("error", function () {
      label.textContent = box.dataset.failed;
      form.querySelector("input[type=submit]").disabled = false;
    });
    xhr.open("POST", form.action || window.location.href);
    xhr.send(new FormData(form));
  });
})();

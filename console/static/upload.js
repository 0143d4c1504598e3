// The upload form: files can be dropped on it, and it is sent with
// XMLHttpRequest so a bar shows the upload's progress. The answer, the
// page the plain form would have opened, replaces the main content.
// Without JavaScript the form posts as it is.
(function () {
  var form = document.getElementById("upload");
  var drop = document.getElementById("drop");
  var input = document.getElementById("files");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  if (!form || !drop || !input || !bar || !window.FormData || !window.DOMParser) return;

  document.getElementById("drop-hint").hidden = false;
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) {
      e.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () {
      drop.classList.remove("over");
    });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      status.textContent = input.files.length + " file(s) chosen.";
    }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (p) {
      if (!p.lengthComputable) return;
      var pct = Math.round((p.loaded / p.total) * 100);
      bar.value = pct;
      bar.textContent = pct + "%";
      status.textContent = "Uploading: " + pct + "%";
    });
    xhr.addEventListener("load", function () {
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var main = page.querySelector("main");
      if (!main) {
        status.textContent = "The upload failed (" + xhr.status + ").";
        return;
      }
      document.title = page.title;
      document.querySelector("main").replaceWith(document.adoptNode(main));
      var heading = main.querySelector("h1");
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      status.textContent = "The upload failed: the connection was lost. Try again.";
    });
    bar.value = 0;
    bar.hidden = false;
    status.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });
})();

/* Published content: "Add to gradebook" needs "Add to course". Ticking a gradebook box ticks its
   course box; unticking a course box (or picking another row when only one item is accepted) unticks its
   gradebook box. The server applies the same rule, so the page works without this file. */
(function () {
  "use strict";
  var form = document.querySelector("form.deeplink-form");
  if (!form) { return; }

  function courseInput(id) {
    return form.querySelector('input[name="course"][value="' + id + '"]');
  }

  function untickOrphanGradebooks() {
    form.querySelectorAll('input[name="gradebook"]:checked').forEach(function (box) {
      var course = courseInput(box.value);
      if (!course || !course.checked) { box.checked = false; }
    });
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name === "gradebook" && input.checked) {
      var course = courseInput(input.value);
      if (course) { course.checked = true; }  // for a radio this also clears the other rows
    }
    untickOrphanGradebooks();
  });
}());

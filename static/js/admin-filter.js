// The admin's searchable list filters (units/admin_filters.py): choosing a value applies it.
// Select2 announces a choice as a jQuery "change" event, which only jQuery handlers receive;
// django.jQuery exists once the admin's jquery.init.js has run (this file may load before it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const $ = window.django && window.django.jQuery;
  if (!$) {
    return;
  }
  $("form.autocomplete-filter select").on("change", function () {
    this.form.submit();
  });
});

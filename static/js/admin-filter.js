// The admin's searchable list filters (units/admin_filters.py): choosing a value applies it.
// Select2 announces a choice as a jQuery "change" event, which only jQuery handlers receive.
"use strict";
{
  const $ = window.django && window.django.jQuery;
  if ($) {
    $(function () {
      $("form.autocomplete-filter select").on("change", function () {
        this.form.submit();
      });
    });
  }
}

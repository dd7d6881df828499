"""Optional integrations with third-party Django packages, one module each, each needing its
package (and its extra): ``rest_framework`` (``[drf]``), ``django_filters`` (``[filters]``),
``tables2`` (``[tables2]``). Nothing else in janitor_site_django imports them."""

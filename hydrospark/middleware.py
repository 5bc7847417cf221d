"""Responses that carry one customer's data are never kept by a browser or a proxy (issue 10.18).

A shared computer's browser cache would otherwise hold a customer's bills, usage and charts after they
signed out. `Cache-Control: private, no-store` goes on every portal response, every staff page about one
customer, and every PDF or CSV the site writes (bills, exports, print manifests), whatever set before.

SVG answers get their own Content-Security-Policy (before the site's middleware adds the page policy): an
image document never runs script, and matplotlib's styles inside it are its own.
"""

NO_STORE = "private, no-store"
PRIVATE_PREFIXES = ("/portal/", "/staff/customers/")
PRIVATE_TYPES = ("text/csv", "application/pdf")
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        if request.path.startswith(PRIVATE_PREFIXES) or content_type in PRIVATE_TYPES:
            response["Cache-Control"] = NO_STORE
            response.headers.pop("Expires", None)
        if content_type == "image/svg+xml" and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = SVG_POLICY
        return response

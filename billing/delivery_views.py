"""Staff downloads of the print files (Billing only): the PDF for the mail house and its manifest."""

from pathlib import Path

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from accounts.roles import capability_required

from .models import PrintFile


def _file(path: str, content_type: str) -> FileResponse:
    file = Path(path)
    if not file.is_file():
        raise Http404("The print file is no longer where it was written.")
    return FileResponse(file.open("rb"), as_attachment=True, filename=file.name, content_type=content_type)


@capability_required("manage_bills")
def print_file_pdf(request, pk):
    return _file(get_object_or_404(PrintFile, pk=pk).pdf_path, "application/pdf")


@capability_required("manage_bills")
def print_file_manifest(request, pk):
    return _file(get_object_or_404(PrintFile, pk=pk).manifest_path, "text/csv")

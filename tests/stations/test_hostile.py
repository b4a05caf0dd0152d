"""Every file of the hostile corpus (tests/corpus/) through the station import page: a clear
message, nothing staged, nothing written (the roster upload's expectations, in the station's words
where the header is concerned)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import StagedUpload
from stations.models import CollectionRecord, StationExport
from tests.test_hostile_uploads import CORPUS, EXPECTED, FORM_SAYS
from units.models import StaffProfile

pytestmark = pytest.mark.django_db

STATION_SAYS = {
    "million-empty-rows.xlsx": "没有找到血站采血记录的表头",
    "vmerge-1500-rows.docx": "没有找到血站采血记录的表头",
    "vmerge-first-row.docx": "没有找到血站采血记录的表头",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_station_import_says_what_is_wrong_and_writes_nothing(name, staff_client, staff_user, jurisdiction):
    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": jurisdiction})
    response = staff_client.post(reverse("stations:upload"), {"file": SimpleUploadedFile(name, CORPUS[name])})
    assert response.status_code == 200
    page = response.content.decode()
    expected = FORM_SAYS.get(name) or STATION_SAYS.get(name) or EXPECTED[name][1]
    assert expected in page and "确认导入" not in page
    assert not StagedUpload.objects.exists()
    assert not CollectionRecord.objects.exists() and not StationExport.objects.exists()

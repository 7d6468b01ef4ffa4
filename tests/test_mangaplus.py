"""MANGA Plus: protobuf answers read with the library, against the stand-in that speaks them."""

import ast
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from scraping.checking.pipeline import check_title, import_title
from scraping.models import Chapter, CheckSchedule, Title
from scraping.schedule import policy
from scraping.sources import TitleRef, mangaplus, mangaplus_pb2, parse_reference
from scraping.sources.base import Answer
from scraping.sources.errors import BadResponse, Blocked, InvalidTitleReference, TitleNotFound

pytestmark = pytest.mark.django_db

ONE_PIECE = TitleRef("mangaplus", "100020")


def test_title_pages_and_prefixed_ids_name_a_manga_plus_title():
    assert parse_reference("https://mangaplus.shueisha.co.jp/titles/100020") == ONE_PIECE
    assert parse_reference("mangaplus.shueisha.co.jp/titles/100020/") == ONE_PIECE
    assert parse_reference("mangaplus:100020") == ONE_PIECE
    assert parse_reference("mplus:100020") == ONE_PIECE
    with pytest.raises(InvalidTitleReference, match="not a MANGA Plus title page"):
        parse_reference("https://mangaplus.shueisha.co.jp/viewer/1000486")
    with pytest.raises(InvalidTitleReference, match="is not a MANGA Plus id"):
        parse_reference("mangaplus:one-piece")


def test_an_import_stores_the_listed_chapters_in_one_request(mangaplus, reader):
    mangaplus.add_title(100020, "ONE PIECE", chapters=10, author="Eiichiro Oda")
    result = import_title(ONE_PIECE, user=reader)
    title = result.title
    assert title.name == "ONE PIECE" and title.authors == ["Eiichiro Oda"] and title.genres == ["Action"]
    assert title.upload_status == "ongoing" and title.orig_lang == "ja"
    # The first 3 and the latest 3: MANGA Plus never lists the middle of a long series.
    numbers = sorted(int(n) for n in Chapter.objects.filter(title=title).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 8, 9, 10]
    assert len(mangaplus.api_requests()) == 1
    chapter = Chapter.objects.get(title=title, number=10)
    assert chapter.subtitle == "Chapter 10: Adventure" and chapter.language == "en"
    assert title.source_object.chapter_link("100020", chapter.url_path, "").url.startswith(
        "https://mangaplus.shueisha.co.jp/viewer/"
    )


def test_a_new_chapter_is_told_once_and_the_unlisted_middle_is_not_taken_down(mangaplus, reader):
    mangaplus.add_title(100020, "ONE PIECE", chapters=10)
    title = import_title(ONE_PIECE, user=reader).title
    mangaplus.add_chapters(100020, 1)
    result = check_title(Title.objects.get(pk=title.pk))
    assert [c.number for c in result.new_chapters] == [11]
    # Chapter 8 is no longer listed (the latest 3 are 9 to 11): it stays, readable as before.
    assert Chapter.objects.get(title=title, number=8).available
    check_title(Title.objects.get(pk=title.pk))
    [told] = Notification.objects.filter(user=reader, kind=Notification.Kind.NEW_CHAPTER)
    assert "#011" in told.message


def test_a_chapter_whose_free_reading_ended_is_kept_but_never_announced(mangaplus, reader):
    mangaplus.add_title(100020, "ONE PIECE", chapters=3)
    title = import_title(ONE_PIECE, user=reader).title
    [new] = mangaplus.add_chapters(100020, 1)
    mangaplus.expire(100020, new[0])
    check_title(Title.objects.get(pk=title.pk))
    assert not Chapter.objects.get(title=title, source_id=str(new[0])).available
    assert not Notification.objects.filter(user=reader, kind=Notification.Kind.NEW_CHAPTER).exists()


def test_the_publishers_next_release_is_the_expected_release_and_checked_just_after(mangaplus, reader):
    announced = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    mangaplus.add_title(100020, "ONE PIECE", chapters=10, next_release=announced)
    title = import_title(ONE_PIECE, user=reader).title
    check_title(Title.objects.get(pk=title.pk))
    schedule = CheckSchedule.objects.get(title=title)
    assert schedule.expected_release_at == announced
    assert schedule.next_check_at == announced + policy.JUST_AFTER_ANNOUNCED
    assert "publisher announced" in schedule.reason


def test_an_announcement_later_than_the_rhythms_own_check_does_not_delay_it():
    now = timezone.now()
    weekly = [now - timedelta(weeks=n) for n in range(1, 9)]
    learned = policy.plan_next_check(weekly, now, "ongoing", 0)
    later = policy.plan_next_check(weekly, now, "ongoing", 0, announced=learned.at + timedelta(days=2))
    assert later.at == learned.at and later.rhythm.predicted == learned.at + timedelta(days=2)
    past = policy.plan_next_check(weekly, now, "ongoing", 0, announced=now - timedelta(hours=1))
    assert past == learned
    done = policy.plan_next_check(weekly, now, "completed", 0, announced=now + timedelta(hours=1))
    assert done.reason.startswith("completed")


def test_an_unknown_title_is_not_found(mangaplus):
    with pytest.raises(TitleNotFound, match="not available"):
        import_title(TitleRef("mangaplus", "999999"))


def answer(message_or_bytes):
    content = message_or_bytes if isinstance(message_or_bytes, bytes) else message_or_bytes.SerializeToString()
    return Answer(200, {"Content-Type": "application/octet-stream"}, content)


def test_answers_that_are_not_its_message_or_refuse_us_say_so():
    with pytest.raises(BadResponse, match="not its protobuf message"):
        mangaplus.read_title(answer(b"\xff\xff\xff\xff not protobuf"), "1")
    banned = mangaplus_pb2.Response()
    banned.error.english_popup.subject = "Account Banned"
    with pytest.raises(Blocked, match="Account Banned"):
        mangaplus.read_title(answer(banned), "1")
    nameless = mangaplus_pb2.Response()
    nameless.success.title_detail_view.title.title_id = 1
    with pytest.raises(BadResponse, match="no name"):
        mangaplus.read_title(answer(nameless), "1")


def test_chapter_names_give_numbers_where_they_have_one():
    def number(name):
        chapter = mangaplus_pb2.Chapter(chapter_id=1, name=name, sub_title="x", start_time_stamp=0)
        return mangaplus.parse_chapter(chapter, "en").number

    assert number("#001") == 1 and number("#1132") == 1132 and number("#12.5") == 12.5
    assert number("ex") is None and number("One-shot") is None


def test_the_committed_module_is_the_schema_compiled(tmp_path):
    from grpc_tools import protoc

    assert (
        protoc.main(["protoc", "-Iscraping/sources", f"--python_out={tmp_path}", "scraping/sources/mangaplus.proto"])
        == 0
    )
    compiled = (tmp_path / "mangaplus_pb2.py").read_text()
    serialized = re.search(r"AddSerializedFile\((b'.*?')\)\n", compiled).group(1)
    assert ast.literal_eval(serialized) == mangaplus_pb2.DESCRIPTOR.serialized_pb


def test_a_chapter_number_longer_than_a_chapters_is_none_and_the_title_still_checks(mangaplus, reader):
    mangaplus.add_title(100020, "ONE PIECE", chapters=2)
    title = import_title(ONE_PIECE, user=reader).title
    mangaplus.titles[100020].chapters.append((4_000_001, "#99999999999", "A date, maybe", 1_700_000_000))
    result = check_title(Title.objects.get(pk=title.pk))
    assert [c.number for c in result.new_chapters] == [None]
    assert check_title(Title.objects.get(pk=title.pk)).log.outcome == "no_change"

"""Bulk import of areas and households from CSV: NFC names, line-numbered errors, all or nothing."""

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.main import main
from db.models import Area, Household
from testkit.arrange import committed_count as count, committed_rows as rows

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def test_the_documented_examples_import(cli, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    assert main(["households", "import", str(EXAMPLES / "households.csv")]) == 0
    out = capsys.readouterr().out
    assert "4 mới" in out and "3 mới" in out
    assert count(cli, Area) == 4 and count(cli, Household) == 3
    paths = dict(rows(cli, select(Area.code, Area.path)))
    assert paths["DT-MH-01"].startswith(paths["DT-MH"]) and paths["DT-MH"].startswith(paths["DT"])


def test_decomposed_vietnamese_is_stored_in_nfc_and_parents_may_come_later(cli, tmp_path):
    nfd = unicodedata.normalize("NFD", "Ấp Phú Điền")
    path = tmp_path / "areas.csv"
    path.write_text(
        "\ufeffcode,name,level,parent_code\n"
        f"h1,{nfd},hamlet,c1\n"
        "c1,Xã Phú Điền,commune,p1\n"
        "p1,Tỉnh Thử,province,\n",
        encoding="utf-8",
    )
    assert main(["areas", "import", str(path)]) == 0
    [(code, name)] = rows(cli, select(Area.code, Area.name).where(Area.level == "hamlet"))
    assert code == "H1"
    assert name == "Ấp Phú Điền" and unicodedata.is_normalized("NFC", name)


def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(cli, tmp_path, capsys):
    path = tmp_path / "areas.csv"
    path.write_text(
        "code,name,level,parent_code\n"
        "P1,Tỉnh Thử,province,\n"
        "C1,Xã Một,commune,P1\n"
        "C2,Xã Hai,village,P1\n"
        "H1,Ấp Một,hamlet,NOWHERE\n"
        "C1,Xã Trùng,commune,P1\n",
        encoding="utf-8",
    )
    assert main(["areas", "import", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    # In line order, although the duplicate is found first and the unknown parent last.
    assert err == [
        "Dòng 4: Cấp địa bàn không hợp lệ: village.",
        "Dòng 5: Không tìm thấy địa bàn cấp trên mã NOWHERE.",
        "Dòng 6: Mã C1 xuất hiện hai lần trong tệp.",
        f"Không nhập dòng nào của tệp {path}. Sửa các dòng trên rồi chạy lại.",
    ]
    assert count(cli, Area) == 0


@pytest.mark.parametrize("kind", ["areas", "households"])
def test_a_file_that_cannot_be_read_is_named(cli, tmp_path, capsys, kind):
    missing = tmp_path / "missing.csv"
    assert main([kind, "import", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"Không đọc được tệp {missing}: No such file or directory."
    assert main([kind, "import", str(tmp_path)]) == 2  # a folder
    assert f"Không đọc được tệp {tmp_path}:" in capsys.readouterr().err


def test_a_file_that_is_not_utf8_names_the_line(cli, tmp_path, capsys):
    path = tmp_path / "areas.csv"
    path.write_bytes("code,name,level,parent_code\nP1,T\u1ec9nh,province,\n".encode()
                     + "P2,Tỉnh Hai,province,\n".encode("cp1258", errors="replace").replace(b"T", b"T\xff"))
    assert main(["areas", "import", str(path)]) == 1
    assert "Dòng 3:" in capsys.readouterr().err
    assert count(cli, Area) == 0


def test_households_need_a_known_hamlet_and_a_sane_size(cli, tmp_path, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    path = tmp_path / "households.csv"
    path.write_text(
        "hamlet_code,code,head_name,address,size\n"
        "DT-MH-01,H1,Nguyễn Văn An,,4\n"
        "DT-MH-09,H2,Trần Văn Bé,,2\n"
        "DT-MH-01,H3,Lê Thị Cúc,,0\n"
        "DT-MH-01,H4,,,2\n"
        "DT-MH-01,H6,Võ Văn Em,,²\n"
        "DT-MH,H5,Phạm Văn Dũng,,2\n",
        encoding="utf-8",
    )
    assert main(["households", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Dòng 3: Không có ấp/khóm mã DT-MH-09." in err
    assert "Dòng 4: Số nhân khẩu phải là số từ 1 đến 99" in err
    assert "Dòng 5: Tên chủ hộ phải có từ 1 đến 200 ký tự." in err
    assert "Dòng 6: Số nhân khẩu phải là số từ 1 đến 99, không phải “²”." in err
    assert "Dòng 7: Không có ấp/khóm mã DT-MH." in err  # a commune is not a hamlet
    assert count(cli, Household) == 0


def test_bidi_controls_in_a_name_or_an_address_are_refused(cli, tmp_path, capsys):
    """A right-to-left override would show hamlet heads another name or address than stored."""
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    path = tmp_path / "households.csv"
    path.write_text(
        "hamlet_code,code,head_name,address,size\n"
        "DT-MH-01,H1,Nguyễn Văn \u202eAn,,4\n"
        "DT-MH-01,H2,Trần Văn Bé,Số \u20671\u2069 đường 2,2\n",
        encoding="utf-8",
    )
    assert main(["households", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Dòng 2: Nội dung có ký tự lạ" in err and "Dòng 3: Nội dung có ký tự lạ" in err
    assert count(cli, Household) == 0


def test_importing_again_updates_instead_of_duplicating(cli, tmp_path, capsys):
    main(["areas", "import", str(EXAMPLES / "areas.csv")])
    main(["households", "import", str(EXAMPLES / "households.csv")])
    path = tmp_path / "households.csv"
    path.write_text("hamlet_code,code,head_name,size\nDT-MH-01,h001,Nguyễn Văn Ân,6\n", encoding="utf-8")
    assert main(["households", "import", str(path)]) == 0
    assert "0 mới, 1 cập nhật" in capsys.readouterr().out
    assert count(cli, Household) == 3
    [(name, key, size)] = rows(cli, select(Household.head_name, Household.head_name_key, Household.size)
                                .where(Household.code == "H001", Household.head_name.like("%Ân")))
    assert (name, key, size) == ("Nguyễn Văn Ân", "nguyen van an", 6)


def test_a_missing_column_is_named(cli, tmp_path, capsys):
    path = tmp_path / "households.csv"
    path.write_text("hamlet,code,name\nX,1,Y\n", encoding="utf-8")
    assert main(["households", "import", str(path)]) == 1
    assert "Dòng 1: Thiếu cột: hamlet_code, head_name." in capsys.readouterr().err

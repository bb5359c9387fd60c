"""DICOM PS3.15 Annex E, Table E.1-1, encoded as data.

Every attribute of the Application Level Confidentiality Profile table with its action under
the Basic Profile and under each option, transcribed from PS3.15 Table E.1-1 (the
machine-readable copy of the table parsed from the standard in ``innolitics/dicom-standard``,
``standard/confidentiality_profile_attributes.json``), completed with the rows of later
editions (see `_TABLE_E11_LATER`) and cross-checked against the 2023 and 2026c tag lists of
the dicom-anonymizer package: every tag of those lists is here, and where an action differs
the newer edition's is used (Structure Set Time, Treatment Machine Name, Treatment Site).
Attribute names come from pydicom's data dictionary (tags it does not know yet are named by
their number).

Action codes (PS3.15 E.1.1):

- ``D``: replace with a non-zero-length dummy value consistent with the VR;
- ``Z``: replace with a zero-length value, or a dummy;
- ``X``: remove;
- ``K``: keep (unchanged for non-sequences, cleaned for sequences);
- ``C``: clean (keep the value with identifying information replaced);
- ``U``: replace with a non-zero-length UID that is internally consistent within a set of
  instances;
- combined codes ``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``: the choice depends on the
  attribute's type in the IOD; see `medscale.deid.profile.resolve_action` for the choice made.

Option columns (one letter each in the table below):

=====  ===========================================================  =================
key    option (PS3.15 Table E.1-1 column)                            CID 7050 code
=====  ===========================================================  =================
``S``  Retain Safe Private Option                                    113111
``U``  Retain UIDs Option                                            113110
``D``  Retain Device Identity Option                                 113109
``I``  Retain Institution Identity Option                            113112
``P``  Retain Patient Characteristics Option                         113108
``F``  Retain Longitudinal Temporal Information Full Dates Option    113106
``M``  Retain Longitudinal Temporal Information Modified Dates       113107
``C``  Clean Descriptors Option                                      113105
``T``  Clean Structured Content Option                               113104
``G``  Clean Graphics Option                                         113103
=====  ===========================================================  =================

Rows for repeating groups (curves ``50xx,xxxx``, overlays ``60xx,3000`` and ``60xx,4000``)
and for private attributes are kept apart in `GROUP_RULES` and `PRIVATE_RULE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from pydicom.datadict import dictionary_description, dictionary_has_tag

# tag (group element, hex)  basic action  option=action ...
_TABLE_E11 = """
00001000 X U=K
00001001 U U=K
00020003 U U=K
00041511 U U=K
00080014 U U=K
00080015 X F=K M=C
00080018 U U=K
00080020 Z F=K M=C
00080021 X/D F=K M=C
00080022 X/Z F=K M=C
00080023 Z/D F=K M=C
00080024 X F=K M=C
00080025 X F=K M=C
0008002A X/Z/D F=K M=C
00080030 Z F=K M=C
00080031 X/D F=K M=C
00080032 X/Z F=K M=C
00080033 Z/D F=K M=C
00080034 X F=K M=C
00080035 X F=K M=C
00080050 Z
00080058 U U=K
00080080 X/Z/D I=K
00080081 X I=K
00080082 X/Z/D I=K
00080090 Z
00080092 X
00080094 X
00080096 X
0008009C Z
0008009D X
00080201 X F=K M=C
00081010 X/Z/D D=K
00081030 X C=C
0008103E X C=C
00081040 X I=K
00081041 X I=K
00081048 X
00081049 X
00081050 X
00081052 X
00081060 X
00081062 X
00081070 X/Z/D
00081072 X/D
00081080 X C=C
00081084 X C=C
00081110 X/Z U=K
00081111 X/Z/D U=K
00081120 X U=X
00081140 X/Z/U* U=K
00081155 U U=K
00081195 U U=K
00082111 X C=C
00082112 X/Z/U* U=K
00083010 U U=K
00084000 X C=C
00100010 Z
00100020 Z
00100021 X
00100030 Z
00100032 X
00100040 Z P=K
00100050 X
00100101 X
00100102 X
00101000 X
00101001 X
00101002 X
00101005 X
00101010 X P=K
00101020 X P=K
00101030 X P=K
00101040 X
00101050 X
00101060 X
00101080 X
00101081 X
00101090 X
00101100 X
00102000 X C=C
00102110 X P=C C=C
00102150 X
00102152 X
00102154 X
00102155 X
00102160 X P=K
00102180 X C=C
001021A0 X P=K
001021B0 X C=C
001021C0 X P=K
001021D0 X F=K M=C
001021F0 X
00102203 X/Z P=K
00102297 X
00102299 X
00104000 X C=C
00120010 D
00120020 D
00120021 Z
00120030 Z I=K
00120031 Z I=K
00120040 D
00120042 D
00120050 Z
00120051 X C=C
00120060 Z I=K
00120071 X
00120072 X C=C
00120081 D I=K
00120082 X
0016002B X C=C
0016004B X C=C
0016004D X
0016004E X D=K
0016004F X D=K
00160050 X D=K
00160051 X D=K
00160070 X
00160071 X
00160072 X
00160073 X
00160074 X
00160075 X
00160076 X
00160077 X
00160078 X
00160079 X
0016007A X
0016007B X
0016007C X
0016007D X
0016007E X
0016007F X
00160080 X
00160081 X
00160082 X
00160083 X
00160084 X
00160085 X
00160086 X
00160087 X
00160088 X
00160089 X
0016008A X
0016008B X
0016008C X
0016008D X F=K M=C
0016008E X
00180010 Z/D C=C
00181000 X/Z/D D=K
00181002 U U=K D=K
00181004 X D=K
00181005 X D=K
00181007 X D=K
00181008 X D=K
00181009 X D=K
0018100A X D=K
0018100B U U=K D=K
00181030 X/D C=C
001811BB D C=C
00181400 X/D C=C
00182042 U U=K
00184000 X C=C
00185011 X D=K
0018700A X/D D=K
00189185 X C=C
00189367 D D=K
00189369 D F=K M=C
0018936A D F=K M=C
00189371 D D=K
00189373 X D=K
0018937B X C=C
0018937F X C=C
00189424 X C=C
00189516 X/D F=K M=C
00189517 X/D F=K M=C
00189937 X C=C
0018A003 X C=C
0020000D U U=K
0020000E U U=K
00200010 Z
00200052 U U=K
00200200 U U=K
00203401 X
00203406 X
00204000 X C=C
00209158 X C=C
00209161 U U=K
00209164 U U=K
00281199 U U=K
00281214 U U=K
00284000 X
00320012 X
00321020 X D=K
00321021 X D=K
00321030 X C=C
00321032 X
00321033 X
00321060 X/Z C=C
00321066 X C=C
00321067 X C=C
00321070 X C=C
00324000 X C=C
00340001 D
00340002 D
00340005 D
00340007 D F=K M=C
00380004 X
00380010 X
00380011 X
00380014 X
0038001E X
00380020 X F=K M=C
00380021 X F=K M=C
00380040 X C=C
00380050 X P=C
00380060 X
00380061 X
00380062 X C=C
00380064 X
00380300 X
00380400 X
00380500 X P=C C=C
00384000 X C=C
003A0310 U U=K
003A0314 D F=K M=C
00400001 X D=K
00400002 X F=K M=C
00400003 X F=K M=C
00400004 X F=K M=C
00400005 X F=K M=C
00400006 X
00400007 X C=C
00400009 X
0040000B X
00400010 X D=K
00400011 X D=K
00400012 X P=C
00400241 X D=K
00400242 X D=K
00400243 X
00400244 X F=K M=C
00400245 X F=K M=C
00400250 X F=K M=C
00400251 X F=K M=C
00400253 X
00400254 X C=C
00400275 X C=C
00400280 X C=C
00400310 X C=C
0040050A X
00400512 D
00400513 Z
0040051A X C=C
00400551 D
00400554 U U=K
00400555 X/Z T=C
00400562 Z
00400600 X C=C
00400602 X C=C
00400610 Z T=C
004006FA X
00401001 X
00401002 X C=C
00401004 X
00401005 X
0040100A X C=C
00401010 X
00401011 X
00401101 D
00401102 X
00401103 X
00401104 X
00401400 X C=C
00402001 X C=C
00402008 X
00402009 X
00402010 X
00402011 X
00402016 Z
00402017 Z
00402400 X C=C
00403001 X
00404005 X F=K M=C
00404008 X F=K M=C
00404010 X F=K M=C
00404011 X F=K M=C
00404023 U U=K
00404025 X D=K
00404027 X D=K
00404028 X D=K
00404030 X D=K
00404034 X
00404035 X
00404036 X
00404037 X
00404050 X F=K M=C
00404051 X F=K M=C
00404052 X F=K M=C
0040A027 D
0040A073 D
0040A075 D
0040A078 X
0040A07A X
0040A07C X
0040A088 Z
0040A123 D
0040A124 U
0040A171 U U=K
0040A172 U U=K
0040A192 X F=K M=C
0040A193 X F=K M=C
0040A307 X
0040A352 X
0040A353 X
0040A354 X
0040A358 X
0040A402 U U=K
0040A730 D T=C
0040DB0C U U=K
0040DB0D U U=K
00500020 X D=K
00500021 X C=C
0050001B X
00620021 U U=K
00700001 D G=C
00700084 Z/D
00700086 X
0070031A U U=K
00701101 U U=K
00701102 U U=K
00880140 U U=K
00880200 X
00880904 X
00880906 X
00880910 X
00880912 X
04000100 U
04000402 X
04000403 X
04000404 X
04000550 X
04000551 X
04000552 X
04000561 X
04000600 X
20300020 X
22000002 X/Z C=C
22000005 X/Z
30060002 D C=C
30060004 X C=C
30060006 X C=C
30060008 Z F=K M=C
30060009 Z F=K M=C
30060024 U U=K
30060026 Z C=C
30060028 X C=C
30060038 X C=C
30060085 X C=C
30060088 X C=C
300600A6 Z
300600C2 U U=K
30080054 X/D F=K M=C
30080056 X/D F=K M=C
30080105 X/Z D=K
30080250 X/D F=K M=C
30080251 X/D F=K M=C
300A0002 D C=C
300A0003 X C=C
300A0004 X C=C
300A0006 X/D F=K M=C
300A0007 X/D F=K M=C
300A000E X C=C
300A0013 U U=K
300A0016 X C=C
300A0072 X C=C
300A0083 U U=K
300A00B2 X/Z D=K
300A00C3 X C=C
300A00DD X C=C
300A0196 X C=C
300A01A6 X C=C
300A01B2 X C=C
300A0216 X D=K
300A02EB X C=C
300A0608 D C=C
300A0609 U U=K
300A0611 Z
300A0615 Z
300A0619 D C=C
300A0623 D C=C
300A062A D C=C
300A0650 U U=K
300A0676 X C=C
300A067C D C=C
300A067D Z C=C
300A0700 U U=K
300A0734 D C=C
300A0736 D F=K M=C
300A073A D F=K M=C
300A0741 D F=K M=C
300A0742 D C=C
300A0760 D F=K M=C
300A0783 D C=C
300C0113 X C=C
300E0008 X/Z
30100006 U U=K
3010000B U U=K
3010000F Z C=C
30100013 U U=K
30100015 U U=K
30100017 Z C=C
3010001B Z
3010002D D D=K
30100031 U U=K
30100033 D C=C
30100034 D C=C
30100035 D C=C
30100036 X C=C
30100037 X C=C
30100038 D C=C
3010003B U U=K
30100043 Z D=K
3010004C X/D F=K M=C
3010004D X/D F=K M=C
30100054 D C=C
30100056 X/D C=C
3010005A Z C=C
3010005C Z C=C
30100061 X C=C
3010006E U U=K
3010006F U U=K
30100077 X/D C=C
3010007A Z C=C
3010007B Z C=C
3010007F Z C=C
30100081 Z C=C
40000010 X
40004000 X
40080042 X
40080102 X
4008010A X
4008010B X C=C
4008010C X
40080111 X
40080114 X
40080115 X C=C
40080118 X
40080119 X
4008011A X
40080202 X
40080300 X C=C
40084000 X C=C
FFFAFFFA X
FFFCFFFC X
"""

# Rows added to Table E.1-1 by later editions (mostly dates and times, CP-2xxx series) and
# missing from the copy above, taken from the 2026c edition as listed by the dicom-anonymizer
# package (dicom_anonymization_databases/dicomfields_2026c.py), which carries the basic
# action only. Option columns are inferred, never more permissive than the standard's:
# dates and times get the two temporal options (as every date and time of the table has),
# UIDs the Retain UIDs option; all other options are left out, so those attributes stay
# removed under options that would keep or clean them in the standard.
_TABLE_E11_LATER = """
00080012 X/D F=K M=C
00080013 X/Z/D F=K M=C
00080017 U U=K
00080019 U U=K
00080054 X
00080055 X
00080106 D F=K M=C
00080107 D F=K M=C
00081000 X
00081088 X
00081301 X
00081302 X
00081303 X
00081304 X
00100011 X
00100012 X
00100013 X
00100014 X
00100015 X
00100016 X
00100041 X
00100042 X
00100043 X
00100044 X
00100045 X
00100046 X
00100047 X
00102161 X
00102162 X
00120022 X
00120023 X
00120032 X
00120041 X
00120043 X
00120055 X
00120073 X
00120086 X F=K M=C
00120087 X F=K M=C
0014407C X F=K M=C
0014407E X F=K M=C
00180027 X F=K M=C
00180035 X F=K M=C
00181010 X
00181011 X
00181012 X F=K M=C
00181014 X F=K M=C
00181042 X F=K M=C
00181043 X F=K M=C
00181072 X F=K M=C
00181073 X F=K M=C
00181078 X F=K M=C
00181079 X F=K M=C
00181200 X F=K M=C
00181201 X F=K M=C
00181202 X F=K M=C
00181203 Z F=K M=C
00181204 X F=K M=C
00181205 X F=K M=C
0018700C X/D F=K M=C
0018700E X/D F=K M=C
00189074 D F=K M=C
00189151 D F=K M=C
00189623 D F=K M=C
00189701 D F=K M=C
00189804 D F=K M=C
00189919 Z/D F=K M=C
0018A002 X F=K M=C
00200027 X
00203403 X F=K M=C
00203405 X F=K M=C
00320032 X F=K M=C
00320033 X F=K M=C
00320034 X F=K M=C
00320035 X F=K M=C
00321000 X F=K M=C
00321001 X F=K M=C
00321010 X F=K M=C
00321011 X F=K M=C
00321040 X F=K M=C
00321041 X F=K M=C
00321050 X F=K M=C
00321051 X F=K M=C
0038001A X F=K M=C
0038001B X F=K M=C
0038001C X F=K M=C
0038001D X F=K M=C
00380030 X F=K M=C
00380032 X F=K M=C
003A0020 X
003A0203 X
003A020C X
003A0329 X
003A032B X
00400556 X
00402004 X F=K M=C
00402005 X F=K M=C
0040A023 X F=K M=C
0040A024 X F=K M=C
0040A030 D F=K M=C
0040A032 X/D F=K M=C
0040A033 X F=K M=C
0040A034 X
0040A035 X
0040A082 Z F=K M=C
0040A110 X F=K M=C
0040A112 X F=K M=C
0040A120 D F=K M=C
0040A121 D F=K M=C
0040A122 D F=K M=C
0040A13A D F=K M=C
0040B020 X/D
0040B034 X
0040B036 X
0040B03B X
0040B03F X
0040DB06 X F=K M=C
0040DB07 X F=K M=C
0040E004 X F=K M=C
0040E012 X
00420011 D
00440004 X F=K M=C
0044000B X F=K M=C
00440010 X F=K M=C
00440104 D F=K M=C
00440105 X F=K M=C
00640003 U U=K
00686226 D F=K M=C
00686270 D F=K M=C
006A0003 D
006A0005 D
006A0006 X
00700006 D
00700082 X F=K M=C
00700083 X F=K M=C
0072000A D F=K M=C
0072005E D
0072005F D
00720061 D F=K M=C
00720063 D F=K M=C
00720065 D
00720066 D
00720068 D
0072006A D
0072006B D F=K M=C
0072006C D
0072006D D
0072006E D
00720070 D
00720071 D
00741234 X
00741236 X
01000420 X F=K M=C
04000105 D F=K M=C
04000115 D
04000310 X
04000562 D F=K M=C
04000563 D
04000564 Z
04000565 D
21000040 X F=K M=C
21000050 X F=K M=C
21000070 X
21000140 D
30020121 X
30020123 X
3006002D X F=K M=C
3006002E X F=K M=C
3006004D X
3006004E X
30080024 D F=K M=C
30080025 D F=K M=C
30080162 D F=K M=C
30080164 D F=K M=C
30080166 D F=K M=C
30080168 D F=K M=C
300A000B X
300A0054 U U=K
300A022C D F=K M=C
300A022E D F=K M=C
300A0785 U U=K
300A078E X
300A0792 X
300A0794 X
300A079A X
300C0127 D F=K M=C
300E0004 Z F=K M=C
300E0005 Z F=K M=C
30100085 X F=K M=C
40080040 X
40080100 X F=K M=C
40080101 X F=K M=C
40080108 X F=K M=C
40080109 X F=K M=C
40080112 X F=K M=C
40080113 X F=K M=C
40080200 X
"""

# Not rows of Table E.1-1: patient identifiers medscale removes all the same.
_MEDSCALE_ADDITIONS = """
00100024 X
00100033 X
00100034 X
00100035 X
"""

OPTION_KEYS = frozenset("SUDIPFMCTG")
ACTION_CODES = frozenset({"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"})


@dataclass(frozen=True)
class ProfileRule:
    """One row of Table E.1-1.

    Attributes
    ----------
    tag : int
        The attribute tag as ``0xGGGGEEEE`` (for repeating groups: the first group).
    name : str
        The attribute name (pydicom's data dictionary).
    basic : str
        The action under the Basic Profile (``X``, ``Z``, ``D``, ``U``, ``X/Z`` ...).
    options : Mapping[str, str]
        Option key (see the module docstring) -> action under that option.
    """

    tag: int
    name: str
    basic: str
    options: MappingProxyType[str, str]


def _parse(text: str) -> dict[int, ProfileRule]:
    rules: dict[int, ProfileRule] = {}
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        tag_hex, basic, *option_fields = line.split()
        tag = int(tag_hex, 16)
        if basic not in ACTION_CODES:
            raise ValueError(f"Table E.1-1 row {tag_hex}: unknown action {basic!r}")
        options = dict(field.split("=") for field in option_fields)
        if not set(options) <= OPTION_KEYS:
            raise ValueError(f"Table E.1-1 row {tag_hex}: unknown option in {option_fields}")
        name = dictionary_description(tag) if dictionary_has_tag(tag) else f"({tag_hex})"
        if tag in rules:
            raise ValueError(f"Table E.1-1 row {tag_hex} appears twice")
        rules[tag] = ProfileRule(tag, name, basic, MappingProxyType(options))
    return rules


#: tag -> rule, for every attribute row of Table E.1-1 with a fixed tag.
RULES: MappingProxyType[int, ProfileRule] = MappingProxyType(
    _parse(_TABLE_E11 + _TABLE_E11_LATER + _MEDSCALE_ADDITIONS)
)

#: Repeating-group rows: (group mask, element or None for any) -> rule.
#: Curve Data (50xx,xxxx), Overlay Data (60xx,3000) and Overlay Comments (60xx,4000).
#: medscale removes every element of the curve and overlay groups, not only these.
GROUP_RULES: tuple[ProfileRule, ...] = (
    ProfileRule(0x50000000, "Curve Data", "X", MappingProxyType({"G": "C"})),
    ProfileRule(0x60003000, "Overlay Data", "X", MappingProxyType({"G": "C"})),
    ProfileRule(0x60004000, "Overlay Comments", "X", MappingProxyType({"G": "C"})),
)

#: Private attributes (odd groups): removed; kept by the Retain Safe Private Option when safe.
PRIVATE_RULE = ProfileRule(0x00090000, "Private attributes", "X", MappingProxyType({"S": "C"}))


def is_curve_group(group: int) -> bool:
    """True for the repeating curve groups 5000-501E (even), PS3.3 C.10.2 (retired)."""
    return 0x5000 <= group <= 0x501E and group % 2 == 0


def is_overlay_group(group: int) -> bool:
    """True for the repeating overlay groups 6000-601E (even), PS3.3 C.9."""
    return 0x6000 <= group <= 0x601E and group % 2 == 0

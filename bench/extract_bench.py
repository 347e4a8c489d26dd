"""Accuracy and speed of code and link extraction, beside a named baseline.

    .venv/bin/python bench/extract_bench.py [--runs N]

Prints, over the labelled corpus in tests/data/verification, the precision and recall of
`codes[0]` and `links[0]` per category (and the baseline's recall beside them); then the CPU
time per stage for a typical ~50 KB HTML transactional mail, p50 and p99, for the baseline and
the current code measured in the same run, interleaved call by call; then the time `extract`
takes per message for three MIME shapes, and the median time for 1 MB adversarial inputs of
several kinds. Figures only, no assertions.

The baseline is `inboxkit.mail` as it was at commit 4049911, before the hard classes of
real-world mail were handled and the renderer was sped up: `bench/_baseline.py` takes it from
git history and imports it side by side with the current `inboxkit.mail`.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "bench"))

import importlib  # noqa: E402

from _baseline import mail_at  # noqa: E402

BASELINE_COMMIT = "4049911"
_base = mail_at(BASELINE_COMMIT).__name__
base_codes = importlib.import_module(f"{_base}.codes")
base_extract = importlib.import_module(f"{_base}.extract")
base_htmltext = importlib.import_module(f"{_base}.htmltext")
base_links = importlib.import_module(f"{_base}.links")

from inboxkit.mail import codes, htmltext, links  # noqa: E402
from inboxkit.mail.extract import extract  # noqa: E402
from inboxkit.mail.htmltext import render_html  # noqa: E402
from inboxkit.mail.normalise import normalise  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "verification"
AUTH_KINDS = {"verify", "login", "reset"}


def load(path: Path) -> tuple[str, str | None, str | None]:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    return (
        str(msg["Subject"] or ""),
        plain.get_content() if plain is not None else None,
        html.get_content() if html is not None else None,
    )


def ratio(a: int, b: int) -> str:
    return f"{100.0 * a / b:6.1f}%" if b else "     -"


def recall_by_category(labels: dict, extract_fn) -> dict[str, tuple[int, int]]:
    """Per category: messages whose codes[0] and whose links[0] are as labelled."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, label in labels.items():
        result = extract_fn(*load(CORPUS / name))
        got = result.codes[0].value if result.codes else None
        first = result.links[0] if result.links else None
        if label["link"]:
            link_ok = first is not None and (first.url, first.kind) == (
                label["link"],
                label["link_kind"],
            )
        else:
            link_ok = first is None or first.kind not in AUTH_KINDS
        found[label["category"]][0] += got == label["code"]
        found[label["category"]][1] += link_ok
    return {cat: (c, x) for cat, (c, x) in found.items()}


def accuracy() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
    now = recall_by_category(labels, extract)
    before = recall_by_category(labels, base_extract.extract)
    # Per category: [tp, fp, fn] for codes[0] and for links[0].
    code_stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    link_stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    counts: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    for name, label in sorted(labels.items()):
        cat = label["category"]
        counts[cat] += 1
        result = extract(*load(CORPUS / name))
        got = result.codes[0].value if result.codes else None
        want = label["code"]
        stats = code_stats[cat]
        if got is not None and got == want:
            stats[0] += 1
        else:
            if got is not None:
                stats[1] += 1
            if want is not None:
                stats[2] += 1
            if got != want:
                misses.append(f"{name}: code {got!r}, labelled {want!r}")
        first = result.links[0] if result.links else None
        got_link = (first.url, first.kind) if first and first.kind in AUTH_KINDS else None
        want_link = (label["link"], label["link_kind"]) if label["link"] else None
        stats = link_stats[cat]
        if got_link is not None and got_link == want_link:
            stats[0] += 1
        else:
            if got_link is not None:
                stats[1] += 1
            if want_link is not None:
                stats[2] += 1
            if got_link != want_link:
                misses.append(f"{name}: link {got_link!r}, labelled {want_link!r}")

    print(f"Corpus: {sum(counts.values())} messages in {CORPUS.relative_to(ROOT)}")
    print(
        f"{'category':<18}{'n':>4}  {'codes[0] P':>11}{'R':>8}  {'links[0] P':>11}{'R':>8}"
        f"   {'right: codes[0]':>15} {'links[0]':>9}  {'(baseline)':>10}"
    )
    totals = [[0, 0, 0], [0, 0, 0]]
    for cat in sorted(counts):
        c, x = code_stats[cat], link_stats[cat]
        for i in range(3):
            totals[0][i] += c[i]
            totals[1][i] += x[i]
        print(
            f"{cat:<18}{counts[cat]:>4}  {ratio(c[0], c[0] + c[1]):>11}{ratio(c[0], c[0] + c[2]):>8}"
            f"  {ratio(x[0], x[0] + x[1]):>11}{ratio(x[0], x[0] + x[2]):>8}"
            f"   {now[cat][0]:>15} {now[cat][1]:>9}  {before[cat][0]:>5} {before[cat][1]:>4}"
        )
    c, x = totals
    print(
        f"{'all':<18}{sum(counts.values()):>4}  {ratio(c[0], c[0] + c[1]):>11}"
        f"{ratio(c[0], c[0] + c[2]):>8}  {ratio(x[0], x[0] + x[1]):>11}{ratio(x[0], x[0] + x[2]):>8}"
    )
    print(
        f"{'all, right':<18}{sum(counts.values()):>4}  codes[0] {sum(v[0] for v in now.values())}"
        f" (baseline {sum(v[0] for v in before.values())}), links[0]"
        f" {sum(v[1] for v in now.values())} (baseline {sum(v[1] for v in before.values())})"
    )
    exact = sum(counts.values()) - len({m.split(":")[0] for m in misses})
    print(f"messages with codes[0] and links[0] both as labelled: {exact}/{sum(counts.values())}")
    for miss in misses:
        print("  miss:", miss)
    print("(precision: share of returned codes[0] / action links[0] that are right; recall:")
    print(" share of labelled codes / links returned first. A link counts when its kind is")
    print(" verify, login or reset; for unlabelled mail anything else first is correct.)")


def typical_mail(code: str = "482913") -> tuple[str, str, str]:
    """A ~50 KB transactional mail shaped like those of common sending platforms."""
    css = "\n".join(
        f"  .u-{i} {{ color: #{(i * 2654435761) % 0xFFFFFF:06x}; padding: {i % 24}px {i % 9}px; "
        f"font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; line-height: {18 + i % 8}px; }}"
        for i in range(150)
    )
    style = (
        f'<style type="text/css">\n{css}\n'
        "  @media only screen and (max-width: 620px) { .wrapper { width: 100% !important; }"
        " .hide-mobile { display: none !important; } .stack { display: block !important; } }\n"
        "</style>"
    )
    td = (
        '<td class="u-{i} stack" align="left" valign="top" style="font-family:\'Helvetica Neue\','
        "Helvetica,Arial,sans-serif;font-size:15px;line-height:24px;color:#374151;"
        'padding:0 40px 16px 40px;mso-line-height-rule:exactly;">{body}</td>'
    )
    paragraphs = [
        "Hi Jamie, we received a request to sign in to your Northwind account from Chrome "
        "124.0 on macOS 14.4 near San Francisco, CA.",
        "Use the verification code below to finish signing in. For your security, do not share "
        "this code with anyone, including Northwind support.",
        "This code expires in 10 minutes. If you did not try to sign in, you can ignore this "
        "email and your account will stay safe.",
        "Tip: turn on passkeys in Settings › Security to sign in without codes next time.",
    ]
    rows = [f"<tr>{td.format(i=i, body=p)}</tr>" for i, p in enumerate(paragraphs)]
    spacer = '<tr><td height="{h}" style="font-size:0;line-height:0;mso-line-height-rule:exactly;">&nbsp;</td></tr>'
    cells = '<td width="10" style="font-size:0;line-height:0;">&nbsp;</td>'.join(
        '<td align="center" valign="middle" width="44" height="56" style="border:1px solid #d1d5db;'
        "border-radius:8px;background-color:#f9fafb;font-family:Menlo,Consolas,'Courier New',"
        f'monospace;font-size:30px;font-weight:700;color:#111827;">{d}</td>'
        for d in code
    )
    social = "&nbsp;&nbsp;".join(
        f'<a href="https://click.mail.northwind.example/ls/click?upn={n.lower()}-2F{"x" * 60}" '
        f'target="_blank" style="text-decoration:none;"><img src="https://cdn.northwind.example/'
        f'email/social/{n.lower()}@2x.png" width="24" height="24" alt="{n}" '
        'style="display:inline-block;border:0;outline:none;"></a>'
        for n in ("Facebook", "X", "Instagram", "LinkedIn", "YouTube")
    )
    legal = " ".join(
        "Northwind Inc. is a fictional company used for testing. Messages are sent to the "
        "address on your account for security and service purposes and cannot be opted out of."
        for _ in range(3)
    )
    filler_rows = "\n".join(
        spacer.format(h=8 + i % 16) + f'\n<tr><td class="u-{i}" style="padding:0;">'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td style="border-top:1px solid #e5e7eb;font-size:0;line-height:0;">&nbsp;</td>'
        "</tr></table></td></tr>"
        for i in range(60)
    )
    html = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="x-apple-disable-message-reformatting">
<title>Your Northwind sign-in code</title>
<!--[if mso]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
{style}
</head>
<body style="margin:0;padding:0;background-color:#eef1f5;-webkit-text-size-adjust:100%;" bgcolor="#eef1f5">
<div style="display:none;font-size:1px;color:#eef1f5;line-height:1px;max-height:0px;max-width:0px;opacity:0;overflow:hidden;mso-hide:all;">Your Northwind code is {code}{"&#847; &zwnj; &nbsp; " * 80}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#eef1f5"><tr><td align="center" style="padding:32px 12px;">
<!--[if mso]><table role="presentation" width="600" align="center" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->
<table role="presentation" class="wrapper" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;max-width:600px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:28px 40px 12px 40px;" align="left"><a href="https://click.mail.northwind.example/ls/click?upn=logo-2F{"y" * 60}" target="_blank"><img src="https://cdn.northwind.example/email/logo@2x.png" width="140" height="32" alt="Northwind" style="display:block;border:0;"></a></td></tr>
<tr><td style="font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:24px;line-height:32px;font-weight:700;color:#111827;padding:8px 40px 16px 40px;">Your sign-in code</td></tr>
{"".join(rows[:2])}
<tr><td align="center" style="padding:8px 40px 24px 40px;"><table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>{cells}</tr></table></td></tr>
{"".join(rows[2:])}
{filler_rows}
<tr><td align="center" style="padding:8px 40px 32px 40px;">
<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://click.mail.northwind.example/ls/click?upn=signin-2F{"z" * 60}" style="height:44px;v-text-anchor:middle;width:260px;" arcsize="14%" stroke="f" fillcolor="#2563eb"><w:anchorlock/><center style="color:#ffffff;font-family:sans-serif;font-size:15px;font-weight:bold;">Review recent activity</center></v:roundrect><![endif]-->
<a href="https://click.mail.northwind.example/ls/click?upn=activity-2F{"z" * 60}" target="_blank" style="background-color:#2563eb;border:1px solid #2563eb;border-radius:6px;color:#ffffff;display:inline-block;font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:15px;font-weight:bold;line-height:44px;text-align:center;text-decoration:none;width:260px;-webkit-text-size-adjust:none;mso-hide:all;">Review recent activity</a>
</td></tr>
</table>
<table role="presentation" class="wrapper" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;max-width:600px;">
<tr><td align="center" style="padding:24px 40px 8px 40px;">{social}</td></tr>
<tr><td align="center" style="padding:0 40px 8px 40px;font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#6b7280;">
Northwind Inc. · 1234 Market Street, Suite 500 · San Francisco, CA 94103 · +1 (415) 555-0199<br>
&copy; 2024 Northwind Inc. All rights reserved. {legal}</td></tr>
<tr><td align="center" style="padding:0 40px 32px 40px;font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#6b7280;">
<a href="https://click.mail.northwind.example/ls/click?upn=help-2F{"h" * 60}" style="color:#6b7280;text-decoration:underline;">Help Center</a> &middot;
<a href="https://click.mail.northwind.example/ls/click?upn=privacy-2F{"p" * 60}" style="color:#6b7280;text-decoration:underline;">Privacy Policy</a> &middot;
<a href="https://click.mail.northwind.example/ls/click?upn=terms-2F{"t" * 60}" style="color:#6b7280;text-decoration:underline;">Terms</a></td></tr>
</table>
<!--[if mso]></td></tr></table><![endif]-->
</td></tr></table>
<img src="https://open.mail.northwind.example/o/{"o" * 40}.gif" width="1" height="1" alt="" style="display:block;height:1px;width:1px;border:0;margin:0;padding:0;">
</body>
</html>
"""
    text = (
        "Hi Jamie,\n\nWe received a request to sign in to your Northwind account.\n\n"
        f"Your verification code:\n\n    {code}\n\nThis code expires in 10 minutes.\n\n"
        "Northwind Inc. · 1234 Market Street, Suite 500 · San Francisco, CA 94103\n"
    )
    return "Your Northwind sign-in code", text, html


def clear_caches() -> None:
    """Forget the last renderings and normalised texts, so each run does a new message's work."""
    render_html.cache_clear()
    normalise.cache_clear()


def timed(subject: str, text: str | None, html: str | None, runs: int):
    """Wall-clock and CPU seconds per call (CPU time is what a busy machine cannot inflate)."""
    wall, cpu = [], []
    for _ in range(runs):
        clear_caches()
        start, start_cpu = time.perf_counter(), time.thread_time()
        extract(subject, text, html)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return wall, cpu


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def stages(runs: int) -> None:
    """CPU time per stage, the baseline and the current code called in turn on the same mail."""
    subject, _text, html = typical_mail()
    impls = {
        "baseline": (base_htmltext, base_codes, base_links, base_extract.extract),
        "now": (htmltext, codes, links, extract),
    }
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(runs):
        for name, (ht, cd, lk, ex) in impls.items():
            clock = time.thread_time
            clear_caches()
            t0 = clock()
            # The current code names it `prepare_markup` and prepares UTF-8 bytes; the baseline
            # had it private and prepared a str.
            prepare = getattr(ht, "prepare_markup", None) or ht._prepare_markup
            markup = prepare(html)
            if isinstance(markup, str):
                markup = markup.encode("utf-8", "replace")
            tree = ht.LexborHTMLParser(markup)
            t1 = clock()
            rendered = ht._render(html)
            t2 = clock()
            found = cd.collect_codes([subject, rendered.text, ""])
            lk.collect_links(rendered, [rendered.text, ""], subject, bool(found))
            t3 = clock()
            ht.render_html.cache_clear()
            clear_caches()
            t3b = clock()
            ex(subject, None, html)
            t4 = clock()
            del tree
            samples[name, "parse (lexbor)"].append(t1 - t0)
            samples[name, "render (parse included)"].append(t2 - t1)
            samples[name, "codes + links"].append(t3 - t2)
            samples[name, "extract, all stages"].append(t4 - t3b)
    print(f"\nTypical 50 KB HTML mail, CPU ms per stage, {runs} interleaved runs:")
    print(f"  {'stage':<26}{'baseline p50':>13}{'p99':>8}{'now p50':>10}{'p99':>8}{'now/base':>10}")
    for stage in (
        "parse (lexbor)",
        "render (parse included)",
        "codes + links",
        "extract, all stages",
    ):
        b, n = samples["baseline", stage], samples["now", stage]
        print(
            f"  {stage:<26}{pct(b, 0.5):>13.3f}{pct(b, 0.99):>8.3f}{pct(n, 0.5):>10.3f}"
            f"{pct(n, 0.99):>8.3f}{pct(n, 0.5) / pct(b, 0.5):>10.2f}"
        )


def speed(runs: int) -> None:
    subject, text, html = typical_mail()
    result = extract(subject, text, html)
    assert result.codes and result.codes[0].value == "482913", result
    print(
        f"\nTypical transactional mail: HTML {len(html) / 1024:.1f} KB, "
        f"text {len(text)} chars, {runs} runs (render cache cleared each time)"
    )
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  (load average {load} on {os.cpu_count()} CPUs)")
    except OSError:
        pass
    for label, args in (
        ("html only", (subject, None, html)),
        ("text + html", (subject, text, html)),
        ("text only", (subject, text, None)),
    ):
        extract(*args)
        wall, cpu = timed(*args, runs=runs)
        print(
            f"  {label:<12} wall p50 {pct(wall, 0.5):6.3f} ms  p99 {pct(wall, 0.99):6.3f} ms"
            f"   cpu p50 {pct(cpu, 0.5):6.3f} ms  p99 {pct(cpu, 0.99):6.3f} ms"
        )

    mb = 1 << 20
    adversarial = {
        "digits, one run": ("", ("0123456789" * (mb // 10 + 1))[:mb], None),
        "single digits spaced": ("", ("4 " * (mb // 2))[:mb], None),
        "4-digit groups": ("", ("1234 " * (mb // 5))[:mb], None),
        "hyphen chains": ("", ("12-34-" * (mb // 6))[:mb], None),
        "labelled candidates": ("", ("Your code is 482913. " * (mb // 21))[:mb], None),
        "code labels, no digits": ("", ("verification code " * (mb // 18))[:mb], None),
        "one long word": ("", "a" * mb, None),
        "@ signs": ("", ("a@b." * (mb // 4))[:mb], None),
        "URL without end": ("", "https://x.example/" + "a" * mb, None),
        "many URLs": ("", ("https://x.example/v?t=1\n" * (mb // 24))[:mb], None),
        "zero-width + Arabic digits": ("", ("٤\u200b٨\u200b" * (mb // 4))[:mb], None),
        "nested divs (HTML)": ("", None, "<div>" * (mb // 5)),
        "table cells (HTML)": ("", None, ("<td>1</td>" * (mb // 10))[:mb]),
        "anchors (HTML)": ("", None, ('<a href="https://x.example/a">Verify</a>' * (mb // 41))),
        "unclosed tags (HTML)": ("", None, ("<a href='" + "x" * 1000) * (mb // 1009)),
        "hidden spans (HTML)": (
            "",
            None,
            ('<span style="display:none">1</span>2' * (mb // 37))[:mb],
        ),
    }
    print("\nAdversarial inputs, 1 MB each (extract caps what it scans; median of 3 runs):")
    for label, args in adversarial.items():
        wall, cpu = timed(*args, runs=3)
        print(
            f"  {label:<28} wall {statistics.median(wall) * 1000:8.1f} ms"
            f"   cpu {statistics.median(cpu) * 1000:8.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="timed runs for the typical mail")
    parser.add_argument("--speed-only", action="store_true", help="leave out the accuracy")
    args = parser.parse_args()
    if not args.speed_only:
        accuracy()
    stages(args.runs)
    speed(args.runs)


if __name__ == "__main__":
    main()

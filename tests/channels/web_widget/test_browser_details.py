"""The `browser` of webwidget_triggered's event_info, read from common User-Agents."""

from __future__ import annotations

import pytest

from nexa.channels.web_widget.service import browser_details


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.1 Mobile/15E148 Safari/604.1", ("Safari", "17.1", "Mobile", "iOS", "17.1")),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
         "Safari/537.36 Edg/120.0.2210.91", ("Microsoft Edge", "120.0.2210.91", "Unknown", "Windows", "10.0")),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile "
         "Safari/537.36", ("Chrome", "124.0.0.0", "Mobile", "Android", "14")),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
         ("Firefox", "125.0", "Unknown", "macOS", "14.4")),
        ("curl/8.5.0", ("Unknown", "", "Unknown", "Unknown", "")),
    ],
)
def test_browser_details(user_agent: str, expected: tuple[str, ...]) -> None:
    found = browser_details(user_agent)
    keys = ("browser_name", "browser_version", "device_name", "platform_name", "platform_version")
    assert tuple(found[key] for key in keys) == expected

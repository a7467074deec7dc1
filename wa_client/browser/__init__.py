"""Chromium and chromedriver as processes, the profile directory, a Selenium Grid's browser.

driver (Browser: launched, watched, torn down by pid), chromium (which binaries, which flags, what a failed
start means), devtools (the page's push channel over Chrome DevTools, local browsers only), procs (/proc: who
is alive, killing by pid), profile (the private profile directory; its removal), profile_lock (one gateway per
profile), orphans (a dead gateway's Chromium on our profile), remote (a Grid node's profile and its reset).
"""

"""Chromium and chromedriver as processes, the profile directory, a Selenium Grid's browser."""

"""The config rule tables, one module a section; tests/config/test_rules_rejections.py runs them."""

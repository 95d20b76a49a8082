pytest_plugins = [
    "tests.fixtures.mosquitto",
    "tests.fixtures.postgres",
    "tests.fixtures.browser",
    "tests.fixtures.push_service",
    "tests.fixtures.tablet_floor",
    "tests.fixtures.fake_shopify",
    "tests.fixtures.fake_fcm",
]

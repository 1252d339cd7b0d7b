import TestSupport

/// relay-store-probe, built beside the test bundle: the second process of the multi-process tests.
let storeProbe = builtProduct("relay-store-probe")

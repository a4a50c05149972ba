# lit configuration that runs every GoogleTest binary in build/unittests.
import os

import lit.formats

config.name = "ST-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.st_obj_root, "unittests")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

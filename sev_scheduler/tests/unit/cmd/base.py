#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

import contextlib
import io
import logging
import os

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from nova.pci import request as pci_request

from sev_scheduler.cmd import main
from sev_scheduler import conf


class CommandTestCase(testtools.TestCase):
    """Runs ``sev-scheduler`` as an operator would, output captured."""

    def setUp(self):
        super().setUp()
        # What --nova-conf sets in this process is undone after the test.
        self.useFixture(config_fixture.Config(conf.CONF))
        self.addCleanup(pci_request.get_alias_from_config.cache_clear)

    def run_command(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        # cliff sets up the root logger for each run: keep its output in
        # the test's details, not on the runner's stream.
        self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            try:
                status = main.main(list(argv))
            except SystemExit as error:
                # argparse's way out of a usage error.
                status = error.code
        self.assertNotIn('Traceback', stdout.getvalue() + stderr.getvalue())
        return status, stdout.getvalue(), stderr.getvalue()

    def write_file(self, name, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, name)
        with open(path, 'w') as file:
            file.write(text)
        return path

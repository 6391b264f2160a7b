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

"""``sev-scheduler metrics`` on the in-process cloud, read back by the parser.

The output is parsed with prometheus_client's own parser and compared with
what the in-process Placement holds; ``--listen`` is scraped over a real
socket, before and after a boot.
"""

import contextlib
import io
import logging
import os
import selectors
import threading
import urllib.request

import fixtures
from prometheus_client import parser

from sev_scheduler.cmd import main
from sev_scheduler.cmd import metrics as metrics_cmd
from sev_scheduler import compat
from sev_scheduler.operators import audit
from sev_scheduler.tests.functional import cloud

SEV = compat.AMD_SEV


def samples(text):
    """{(name, sorted labels): value} of an exposition."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in parser.text_string_to_metric_families(text)
            for sample in family.samples}


class MetricsTestCase(cloud.OperatorTestBase):

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=3)
        self.start_host('big', slots=2, ram_allocation_ratio=1.5)

    def run_metrics(self, *argv):
        """(exit status, stdout, stderr) of ``sev-scheduler metrics``."""
        test = self

        class InProcessMetrics(metrics_cmd.Metrics):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                test.command = self

            def cloud(self, parsed_args):
                return test.cloud()

        stdout, stderr = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            app = main.SEVSchedulerApp()
            app.command_manager.add_command('metrics', InProcessMetrics)
            status = app.run(['metrics'] + list(argv))
        self.assertNotIn('Traceback', stdout.getvalue() + stderr.getvalue())
        return status, stdout.getvalue(), stderr.getvalue()

    def slots(self, host, model, capacity, used):
        labels = (('host', host), ('model', model))
        return {('sev_scheduler_slots_capacity', labels): capacity,
                ('sev_scheduler_slots_used', labels): used,
                ('sev_scheduler_slots_free', labels): capacity - used}

    def test_slots_per_host_and_model(self):
        self.boot(image='sev')
        self.boot(image='sev')
        status, out, err = self.run_metrics()
        self.assertEqual(0, status, err)
        # SEVFilter keeps them off the host that overcommits memory.
        expected = self.slots('sev1', SEV, 3, 2)
        expected.update(self.slots('big', SEV, 2, 0))
        expected[('sev_scheduler_cloud_up', ())] = 1
        self.assertEqual(expected, samples(out))

    def test_audit_findings_by_kind(self):
        # An admin forces an encrypted server onto the host that
        # overcommits memory: no filter runs.
        body = self._build_server(
            image_uuid=self.images['sev'], flavor_id=self.flavors['sev'],
            networks='none', az='nova:big')
        self._wait_for_state_change(
            self.admin_api.post_server({'server': body}), 'ACTIVE')
        status, out, err = self.run_metrics('--audit')
        self.assertEqual(0, status, err)
        findings = {labels[0][1]: value
                    for (name, labels), value in samples(out).items()
                    if name == 'sev_scheduler_audit_findings'}
        self.assertEqual(dict.fromkeys(audit.KINDS, 0),
                         dict(findings, **{audit.MEMORY_OVERCOMMIT: 0}))
        self.assertEqual(1, findings[audit.MEMORY_OVERCOMMIT])

    def test_textfile_replaced_atomically(self):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'sev.prom')
        with open(path, 'w') as old:
            old.write('# an older collection\n')
        status, out, err = self.run_metrics('--output', path)
        self.assertEqual((0, ''), (status, out), err)
        with open(path) as written:
            text = written.read()
        self.assertEqual(3, samples(text)[
            ('sev_scheduler_slots_capacity',
             (('host', 'sev1'), ('model', SEV)))])
        self.assertEqual(['sev.prom'], os.listdir(directory))
        self.assertEqual(0o644, os.stat(path).st_mode & 0o777)

    def _serve(self, *argv):
        """A function returning the slots used a scrape shows."""
        # Nova's harness runs under eventlet: the server must wait on the
        # green selector, which socketserver did not bind when imported
        # before the monkey patching (2025.2, 2026.1). Harness only: the
        # command runs without eventlet.
        self.useFixture(fixtures.MonkeyPatch('socketserver._ServerSelector',
                                             selectors.DefaultSelector))
        thread = threading.Thread(
            target=self.run_metrics, args=('--listen', '127.0.0.1:0') + argv,
            daemon=True)
        thread.start()
        for _ in range(200):
            server = getattr(getattr(self, 'command', None), 'server', None)
            if server is not None:
                break
            threading.Event().wait(0.05)
        self.addCleanup(thread.join, 10)
        self.addCleanup(self.command.stop.set)
        url = 'http://127.0.0.1:%d/metrics' % server.server_port

        def used():
            with urllib.request.urlopen(url, timeout=30) as response:
                scraped = samples(response.read().decode())
            return sum(value for (name, _), value in scraped.items()
                       if name == 'sev_scheduler_slots_used')
        return used

    def test_listen_interval_zero_reads_cloud_anew_passes(self):
        used = self._serve('--interval', '0')
        self.assertEqual(0, used())
        self.boot(image='sev')
        self.assertEqual(1, used())

    def test_listen_within_interval_serves_last_collection_passes(self):
        used = self._serve('--interval', '3600')
        self.assertEqual(0, used())
        self.boot(image='sev')
        self.assertEqual(0, used())

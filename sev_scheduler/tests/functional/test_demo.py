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

import testtools

from sev_scheduler import compat
from sev_scheduler.demo import cloud


class _Report:
    """Collects what the demo would show."""

    def __init__(self):
        self.host_rows = []
        self.lines = []

    def hosts(self, hosts):
        self.host_rows = hosts

    def progress(self, line):
        self.lines.append(line)


class DemoTestCase(testtools.TestCase):
    """The demo's script, on a small cloud: each rule shows its outcome."""

    def test_demo_script(self):
        report = _Report()
        outcomes = cloud.run(cloud.Options(sev_hosts=1, plain_hosts=1,
                                           slots=2), report)
        results = {outcome.request: outcome.result for outcome in outcomes}
        self.assertEqual(['sev-1', 'sev-overcommit', 'plain-1'],
                         [host['host'] for host in report.host_rows])
        # SEV-ES slots where the running Nova has SEV-ES (2025.2 and later).
        self.assertEqual(', '.join(
            '%s: 2' % model for model in compat.AMD_MODELS
            if model in (compat.AMD_SEV, compat.AMD_SEV_ES)),
            report.host_rows[0]['sev'])
        self.assertEqual(1.5, report.host_rows[1]['ram_allocation_ratio'])
        for request in ('sev-flavor', 'sev-image', 'after-delete'):
            self.assertEqual('landed on sev-1', results[request], request)
        if compat.AMD_SEV_ES in compat.AMD_MODELS:
            self.assertEqual('landed on sev-1', results['sev-es-image'])
        else:
            # Nova 2025.1 would start an AMD SEV guest: refused instead.
            for words in ('amd-sev-es', '2025.2'):
                self.assertIn(words, results['sev-es-image'])
        self.assertEqual('landed on sev-overcommit',
                         results['plain-overcommitted'])
        for request, words in (
                ('pci-passthrough', "PCI passthrough: flavor alias 'gpu'"),
                ('vgpu', 'mdev vGPU'),
                ('usb-boot-disk', "boot disk bus 'usb'"),
                ('ide-volume', 'the IDE bus: volume'),
                ('ide-cdrom', 'hw_cdrom_bus=ide'),
                ('malformed', "'maybe', which is neither true nor false"),
                ('sev-overcommitted', 'No valid host was found'),
                ('rebuild-adds-sev', 'holds no amd-sev encryption slot'),
                ('too-many', 'No valid host was found'),
                ('one-more', 'No valid host was found')):
            self.assertIn(words, results[request], request)
        # One progress line per request.
        self.assertEqual(len(outcomes), len(report.lines))

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

"""``sev-scheduler demo`` on a small cloud, as .ci/run runs it."""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import testtools

from sev_scheduler.cmd import main

SMALL = ('--sev-hosts', '1', '--plain-hosts', '1', '--slots', '2')


def _command(name):
    """The console script installed next to this Python."""
    return os.path.join(os.path.dirname(sys.executable), name)


class DemoTestCase(testtools.TestCase):
    """The demo's output: one narrow table, origins named, four tools."""

    def test_demo_table_origins_and_tools_passes(self):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            status = main.main(['demo'] + list(SMALL))
        out = stdout.getvalue()
        self.assertEqual(0, status, stderr.getvalue())
        tables = [line for line in out.splitlines()
                  if line.startswith(('+', '|'))]
        self.assertTrue(tables)
        for line in tables:
            self.assertLessEqual(len(line), 80, line)
        # One result table: each request once.
        self.assertEqual(1, out.count('| pci-passthrough '))
        # Each line's words in a row, whatever the table's wrapping.
        words = ' '.join(out.replace('|', ' ').split())
        for said in (
                "pci-passthrough refused by SEVFilter: Memory encryption",
                "refused by Nova's API: 400",
                'one-more refused by Placement; the fault says only',
                'Why: sev-scheduler explain one-more',
                'forced landed on sev-overcommit (a forced host: no',
                'is all or nothing'):
            self.assertIn(said, words)
        for heading in ('hosts', 'requests', 'capacity', 'explain', 'audit',
                        'metrics'):
            self.assertIn('\n%s\n%s\n' % (heading, '-' * len(heading)), out)
        self.assertIn('$ sev-scheduler explain one-more', out)
        self.assertIn('| forced | memory-overcommit |', out)
        self.assertIn('sev_scheduler_audit_findings{kind="device"} 1.0', out)
        self.assertIsNotNone(re.search(
            r'\| sev-1 +\| amd-sev +\| +2 \| +2 \| +0 \|', out))

    def test_keep_running_serves_clouds_yaml_passes(self):
        # stderr to a file: a pipe nobody reads while the cloud runs would
        # fill with its log and stop it.
        errors = tempfile.TemporaryFile(mode='w+')
        self.addCleanup(errors.close)
        demo = subprocess.Popen(
            [_command('sev-scheduler'), 'demo', '--keep-running'] +
            list(SMALL), stdout=subprocess.PIPE, stderr=errors, text=True)
        self.addCleanup(demo.kill)
        self.addCleanup(demo.stdout.close)
        for line in demo.stdout:
            if 'export OS_CLIENT_CONFIG_FILE=' in line:
                path = line.split('=', 1)[1].strip()
                break
        else:
            errors.seek(0)
            self.fail('no clouds.yaml: %s' % errors.read())
        capacity = subprocess.run(
            [_command('sev-scheduler'), 'capacity', '--os-cloud', 'sev-demo',
             '-f', 'json'], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, OS_CLIENT_CONFIG_FILE=path))
        self.assertEqual(0, capacity.returncode, capacity.stderr)
        self.assertIn({'Host': 'sev-overcommit', 'Model': 'amd-sev',
                       'Total': 1, 'Used': 1, 'Free': 0},
                      json.loads(capacity.stdout))
        # Ctrl-C stops the cloud.
        demo.send_signal(signal.SIGINT)
        self.assertEqual(0, demo.wait(timeout=60))
        self.assertFalse(os.path.exists(path))

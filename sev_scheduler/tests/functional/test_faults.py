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

"""Faults around the plugin, on the real in-process Nova.

Placement unreachable, answering 500 or timing out when the plugin asks it,
and a database error while reading block device mappings. Each time:
encrypted requests are refused, the tenant told to try later and the
operator's log saying what failed; others keep booting; and the scheduler
serves the next request once the fault is gone.
"""

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_db import exception as db_exc

from nova.scheduler.client import report

from sev_scheduler.tests.functional import base
from sev_scheduler.tests.unit import faults

# The plugin's own Placement queries; Nova's are left alone.
PLUGIN_QUERIES = ('/allocation_candidates?resources=MEMORY_MB:1&in_tree=',
                  '/resource_providers?required=in:')


class _Answer:
    """A Placement answer with an error status."""

    def __init__(self, status_code):
        self.status_code = status_code

    def __bool__(self):
        return False


class FaultTestCase(base.SEVTestBase):

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)
        self.start_host('plain1')
        self.fault = None
        original_get = report.SchedulerReportClient.get

        def get(client, url, *args, **kwargs):
            if self.fault and url.startswith(PLUGIN_QUERIES):
                return self.fault()
            return original_get(client, url, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.client.report.SchedulerReportClient.get', get))
        self.faults_injected = 0

    def _inject(self, fault):
        def fail():
            self.faults_injected += 1
            return fault()
        self.fault = fail

    def _raise(self, error):
        def fault():
            raise error
        return fault

    def _do_test_placement_fault(self, fault, words):
        # The cap and the memory check need Placement for encrypted
        # requests, the weigher for plain ones.
        self.flags(max_guests_per_host=10, group='sev_scheduler')
        self._inject(fault)
        server = self.boot(image='sev', expected_state='ERROR')
        faults.assert_unchecked(self, self.fault_of(server), words,
                                self.stdlog.logger.output)
        # The weigher cannot weigh either: the plain guest lands anyway.
        self.boot()
        self.assertGreaterEqual(self.faults_injected, 2)
        self.fault = None
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))

    def test_placement_unreachable(self):
        self._do_test_placement_fault(
            self._raise(ks_exc.ConnectFailure('refused')),
            'Placement is unreachable (ConnectFailure)')

    def test_placement_answers_500(self):
        self._do_test_placement_fault(lambda: _Answer(500),
                                      'Placement answered 500')

    def test_placement_times_out(self):
        self._do_test_placement_fault(
            self._raise(ks_exc.ConnectTimeout('too slow')),
            'Placement is unreachable (ConnectTimeout)')

    def test_placement_down_for_isolation_plain_still_boots(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self._inject(self._raise(ks_exc.ConnectFailure('refused')))
        # Without Placement isolation cannot be enforced: the plain guest
        # is placed rather than refused.
        self.assertIn(self.host_of(self.boot()), ('sev1', 'plain1'))
        self.fault = None
        self.assertEqual('plain1', self.host_of(self.boot()))

    def test_placement_down_for_weigher_only_sev_still_boots(self):
        # Without a cap, for guests whose memory is not locked, only the
        # weigher asks Placement: the filter's own guarantees come from
        # Nova's candidates, so nothing is refused.
        self.flags(allow_memory_overcommit=True, group='sev_scheduler')
        self.start_host('sev2', slots=4)
        self._inject(self._raise(ks_exc.ConnectFailure('refused')))
        self.assertIn(self.host_of(self.boot(image='sev')), ('sev1', 'sev2'))
        self.assertGreaterEqual(self.faults_injected, 1)

    def test_database_error_reading_block_devices(self):
        patch = self.useFixture(fixtures.MockPatch(
            'sev_scheduler.block_devices.get_for_request',
            side_effect=db_exc.DBConnectionError('gone')))
        server = self.boot(image='sev', expected_state='ERROR')
        faults.assert_unchecked(
            self, self.fault_of(server),
            'the database could not be read (DBConnectionError)',
            self.stdlog.logger.output)
        self.boot()
        patch.mock.side_effect = None
        patch.mock.return_value = []
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))


class RebuildFaultTestCase(base.SEVTestBase):

    CAST_AS_CALL = False

    def test_placement_down_during_rebuild(self):
        self.start_host('sev1', slots=2)
        server = self.boot(image='sev')
        # Another image of the same model: a rebuild with the server's own
        # image does not ask the scheduler at all.
        self.create_image('sev_other', base.SEV_IMAGE)
        self.useFixture(fixtures.MockPatch(
            'nova.scheduler.client.report.SchedulerReportClient'
            '.get_allocs_for_consumer',
            side_effect=ks_exc.ConnectFailure('refused')))
        self.api.post_server_action(
            server['id'], {'rebuild': {'imageRef': self.images['sev_other']}})
        server = self._wait_for_state_change(server, 'ERROR')
        faults.assert_unchecked(self, self.fault_of(server),
                                'Placement is unreachable (ConnectFailure)',
                                self.stdlog.logger.output)

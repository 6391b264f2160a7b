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

"""``sev-scheduler explain`` against the in-process cloud.

Servers end in ERROR for each reason, in the real Nova with SEVFilter;
the command reads them through its own HTTP clients (the harness's Cloud
injected where the command asks for one) and its one-line answer and exit
status are checked.
"""

import contextlib
import io
import json
import os

import fixtures

from nova import context as nova_context
from nova import objects
from nova.scheduler import utils as scheduler_utils
from nova.tests import fixtures as nova_fixtures

from sev_scheduler.cmd import explain as explain_cmd
from sev_scheduler.cmd import main
from sev_scheduler.tests.functional import base
from sev_scheduler.tests.functional import cloud

FULL = 'refused: no free amd-sev slot: 2 hosts, 6 of 6 used'


class ExplainTestBase(cloud.OperatorTestBase):

    def explain(self, *argv):
        """(exit status, the JSON output or None, stderr)."""
        test = self

        class HarnessExplain(explain_cmd.Explain):
            def cloud(self, parsed_args):
                return test.cloud()

        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            # cliff takes the streams when the app is made.
            app = main.SEVSchedulerApp()
            app.command_manager.add_command('explain', HarnessExplain)
            status = app.run(['explain', '-f', 'json'] + list(argv))
        out, err = stdout.getvalue(), stderr.getvalue()
        self.assertNotIn('Traceback', out + err)
        return status, json.loads(out) if out else None, err

    def assert_answer(self, expected, status, *argv):
        actual_status, shown, err = self.explain(*argv)
        self.assertEqual((expected, status),
                         (shown and shown['Answer'], actual_status), err)
        return shown

    def nova_conf(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as conf_file:
            conf_file.write(text)
        return path


class FullCloudTestCase(ExplainTestBase):
    """Every slot used: Placement has no candidate, no filter runs."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=3)
        self.start_host('sev2', slots=3)
        for _ in range(6):
            self.boot(image='sev')
        self.server = self.boot(image='sev', expected_state='ERROR')

    def test_server_in_error(self):
        shown = self.assert_answer(FULL, 2, self.server['id'])
        self.assertEqual('No valid host was found. ', shown['Fault'])
        self.assertEqual(['no request-level refusal'], shown['Verdict'])
        query, offered = shown['Placement']
        self.assertIn('MEM_ENCRYPTION_CONTEXT%3A1', query)
        self.assertEqual('offers 0 of these hosts', offered)
        self.assertEqual(
            [{'host': host, 'model': 'amd-sev', 'total': 3, 'used': 3,
              'free': 0, 'ram_ratio': 1.0, 'cap': 'none',
              'service': 'enabled', 'verdict': 'no free slot (3 of 3 used)'}
             for host in ('sev1', 'sev2')], shown['Hosts'])

    def test_server_by_name(self):
        self.assert_answer(FULL, 2, self.server['name'])

    def test_request_not_made_yet(self):
        self.assert_answer(FULL, 2, '--flavor', 'sev', '--image', 'sev')

    def test_server_image_read_as_written_now(self):
        shown = self.assert_answer(FULL, 2, self.server['id'])
        self.assertIn('hw_mem_encryption=True', shown['Image properties'])
        self.assertEqual('plain, as embedded in the server', shown['Flavor'])


class DevicesTestCase(ExplainTestBase):
    """SEV + vGPU: no host has both, so Nova fails in Placement."""

    def setUp(self):
        self.configure_devices()
        super().setUp()
        self.start_host('sev1', slots=2)
        self.start_host('gpu1', pci_info=self.with_devices())
        self.create_flavor('sev_vgpu', {'hw:mem_encryption': 'true',
                                        'resources:VGPU': '1'})

    def test_no_host_has_both(self):
        server = self.boot(flavor='sev_vgpu', image='sev',
                           expected_state='ERROR')
        shown = self.assert_answer(
            'refused: mdev vGPU and SEV: no host has both', 2, server['id'])
        # The filter's own verdict, which it would give on a host with both.
        self.assertEqual(
            ['Memory encryption (amd-sev) cannot be used with mdev vGPU: '
             'flavor extra spec resources:VGPU=1'], shown['Verdict'])
        self.assertEqual('no free VGPU', shown['Hosts'][0]['verdict'])


class OvercommitTestCase(ExplainTestBase):
    """A MEMORY_MB allocation ratio above 1.0 set in Placement."""

    def setUp(self):
        super().setUp()
        # [DEFAULT] ram_allocation_ratio unset: Placement keeps what the
        # operator sets there.
        self.flags(ram_allocation_ratio=None)
        self.start_host('sev1', slots=4)
        self.set_memory_ratio('sev1', 1.5)

    def test_overcommitted_host(self):
        server = self.boot(image='sev', expected_state='ERROR')
        self.assert_answer(
            'refused: sev1: RAM allocation ratio 1.5 in Placement: amd-sev '
            'guests lock their memory', 2, server['id'])

    def test_nova_conf_allowing_overcommit(self):
        conf = self.nova_conf(
            '[sev_scheduler]\nallow_memory_overcommit = true\n')
        shown = self.assert_answer('would fit on sev1', 0, '--nova-conf',
                                   conf, '--flavor', 'sev', '--image', 'sev')
        self.assertEqual(conf, shown['Configuration'][0])
        self.assertIn('allow_memory_overcommit=True', shown['Configuration'])
        # The scheduler with the same configuration agrees.
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))


class CapTestCase(ExplainTestBase):
    """A host at its aggregate's cap, and the cap of nova.conf."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))

    def test_capped_host(self):
        aggregate = self.admin_api.post_aggregate(
            {'aggregate': {'name': 'capped'}})
        self.admin_api.add_host_to_aggregate(aggregate['id'], 'sev1')
        self.admin_api.post_aggregate_action(aggregate['id'], {
            'set_metadata': {'metadata': {'sev_max_guests': '1'}}})
        server = self.boot(image='sev', expected_state='ERROR')
        self.assert_answer(
            'refused: sev1: cap reached: 1 of 1 encrypted guests (aggregate '
            'sev_max_guests)', 2, server['id'])

    def test_cap_of_nova_conf(self):
        conf = self.nova_conf('[sev_scheduler]\nmax_guests_per_host = 1\n')
        self.assert_answer(
            'refused: sev1: cap reached: 1 of 1 encrypted guests '
            '([sev_scheduler] max_guests_per_host)', 2,
            '--nova-conf', conf, '--flavor', 'sev', '--image', 'sev')


class PagesTestCase(ExplainTestBase):
    """A cloud larger than one page of Nova's API ([api] max_limit)."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)
        self.start_host('sev2', slots=2)
        self.flags(max_limit=1, group='api')

    def test_hosts_beyond_first_page_passes(self):
        # The server embeds its flavor: no flavor listing is read.
        server = self.boot(image='sev', flavor='sev')
        self.assert_answer(
            'runs on %s, holding 1 amd-sev slot; again: would fit on sev1, '
            'sev2' % self.host_of(server), 0, '--again', server['id'])

    def test_flavor_beyond_first_page_passes(self):
        shown = self.assert_answer('would fit on sev1, sev2', 0,
                                   '--flavor', 'sev', '--image', 'sev')
        self.assertEqual('sev (%s)' % self.flavors['sev'], shown['Flavor'])


class PlacedTestCase(ExplainTestBase):
    """A server that holds a slot, on a host with every slot used."""

    def setUp(self):
        super().setUp()
        # [DEFAULT] ram_allocation_ratio unset: Placement keeps what the
        # operator sets there.
        self.flags(ram_allocation_ratio=None)
        self.start_host('sev1', slots=2)
        self.server = self.boot(image='sev')
        self.boot(image='sev')

    def test_placed_server_runs_passes(self):
        shown = self.assert_answer('runs on sev1, holding 1 amd-sev slot', 0,
                                   self.server['id'])
        self.assertEqual(
            ['not asked: it runs on sev1 (--again asks)'],
            shown['Placement'])

    def test_plain_server_runs_passes(self):
        server = self.boot(image='plain')
        self.assert_answer('runs on sev1, not encrypted', 0, server['id'])

    def test_encrypted_without_slot_warns(self):
        # Its image asks for memory encryption since it booted (its owner
        # edited it): no slot was ever asked for, as audit finds.
        server = self.boot(image='plain')
        image = self.glance.images[self.images['plain']]
        image['properties'] = dict(image['properties'], **base.SEV_IMAGE)
        self.assert_answer(
            'runs on sev1, holding no amd-sev slot though it asks for memory '
            'encryption', 1, server['id'])

    def test_one_full_host_fails(self):
        server = self.boot(image='sev', expected_state='ERROR')
        self.assert_answer(
            'refused: no free amd-sev slot: 1 host, 2 of 2 used', 2,
            server['id'])

    def test_again_own_slot_free_passes(self):
        shown = self.assert_answer(
            'runs on sev1, holding 1 amd-sev slot; again: would fit on sev1',
            0, '--again', self.server['id'])
        host, = shown['Hosts']
        self.assertEqual((2, 1, 1, 'can take it'),
                         (host['total'], host['used'], host['free'],
                          host['verdict']))

    def test_again_overcommitted_host_fails(self):
        self.set_memory_ratio('sev1', 1.5)
        self.assert_answer(
            'runs on sev1, holding 1 amd-sev slot; again: refused: sev1: '
            'RAM allocation ratio 1.5 in Placement: amd-sev guests lock '
            'their memory', 2, '--again', self.server['id'])

    def test_again_without_server_usage_fails(self):
        status, shown, err = self.explain('--again', '--flavor', 'sev',
                                          '--image', 'sev')
        self.assertEqual((64, None), (status, shown))
        self.assertIn('--again judges a SERVER', err)


class HostsTestCase(ExplainTestBase):
    """A disabled host, a fitting request, isolation, bad input."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)

    def test_disabled_host(self):
        self.disable_host('sev1')
        server = self.boot(image='sev', expected_state='ERROR')
        self.assert_answer('refused: sev1: nova-compute disabled', 2,
                           server['id'])

    def test_fits(self):
        self.start_host('sev2', slots=2)
        self.disable_host('sev1')
        shown = self.assert_answer('would fit on sev2', 0,
                                   '--flavor', 'plain', '--image', 'sev')
        self.assertEqual(['nova-compute disabled', 'can take it'],
                         [host['verdict'] for host in shown['Hosts']])
        self.assertEqual('sev2', self.host_of(self.boot(image='sev')))

    def test_invalid_request(self):
        self.create_flavor('maybe', {'hw:mem_encryption': 'maybe'})
        self.assert_answer(
            "refused: Invalid memory encryption request: the flavor's "
            "hw:mem_encryption extra spec is 'maybe', which is neither "
            "true nor false", 2, '--flavor', 'maybe', '--image', 'plain')

    def test_check_refuses_ide_volume(self):
        status, shown, _ = self.explain(
            '--flavor', 'sev', '--image', 'sev', '--volume-bus', 'ide')
        volume, = shown['Volumes']
        volume_id = volume.split()[0]
        self.assertEqual('%s (new): ide' % volume_id, volume)
        self.assertEqual(
            ('refused: Memory encryption (amd-sev) cannot be used with the '
             'IDE bus: volume %s (block device mapping disk_bus=ide)'
             % volume_id, 2), (shown['Answer'], status))

    def test_filter_refusal_not_seen_refused_fails(self):
        # SEVFilter refused the IDE volume; the API shows no bus for a
        # volume of a server never placed: the fault's reason is the
        # answer, never a fit.
        server = self.boot_with_volume('ide')
        fault = self.assert_refused(server, 'the IDE bus')
        reason = fault[len('No valid host was found. '):]
        self.assertTrue(reason.startswith('Memory encryption (amd-sev) '
                                          'cannot be used with'), fault)
        shown = self.assert_answer('refused: %s' % reason, 2, server['id'])
        self.assertEqual(fault, shown['Fault'])
        self.assertEqual(
            ['%s: the bus Nova picks'
             % nova_fixtures.CinderFixture.SWAP_OLD_VOL], shown['Volumes'])

    def test_not_seen_never_fits_fails(self):
        # No slot free when it booted: Placement's fault, without a reason.
        # Once a slot is free, what the API does not show (the volume's
        # bus, its ports) may still be refused: no fit is promised.
        first = self.boot(image='sev')
        self.boot(image='sev')
        server = self.boot_with_volume()
        self.assertEqual('No valid host was found. ', self.fault_of(server))
        self._delete_server(first)
        shown = self.assert_answer(
            'cannot tell: not seen: volume buses, ports (sev1 can take what '
            'the API shows)', 1, server['id'])
        self.assertIn('the disk bus of volume(s) %s'
                      % nova_fixtures.CinderFixture.SWAP_OLD_VOL,
                      shown['Not seen'][0])

    def test_plain_request_isolated(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.assert_answer(
            'not encrypted: SEVFilter keeps it off the 1 SEV-capable host '
            '(isolate_sev_hosts)', 0,
            '--flavor', 'plain', '--image', 'plain')

    def test_trait_property_query_as_nova_builds_it_fails(self):
        # Unquoted once, this trait's name would be two traits the host
        # has; Nova sends it quoted, Placement knows no such trait, and
        # no filter runs.
        self.create_image('odd', dict(base.SEV_IMAGE, **{
            'trait:COMPUTE_NODE%2CHW_CPU_X86_AMD_SEV': 'required'}))
        server = self.boot(image='odd', expected_state='ERROR')
        spec = objects.RequestSpec.get_by_instance_uuid(
            nova_context.get_admin_context(), server['id'])
        nova_query = scheduler_utils.ResourceRequest.from_request_spec(
            spec).to_querystring()
        status, shown, err = self.explain(server['id'])
        self.assertEqual(
            ('GET /allocation_candidates?%s' % nova_query,
             "refused: Placement answered 400 to Nova's query: no filter "
             "runs", 2),
            (shown['Placement'][0], shown['Answer'], status), err)

    def _error(self, *argv):
        # Nothing judged: 255, never a verdict.
        status, shown, err = self.explain(*argv)
        self.assertEqual((255, None), (status, shown))
        return err

    def test_unknown_server_error_fails(self):
        self.assertIn('no server nope', self._error('nope'))

    def test_unknown_flavor_error_fails(self):
        self.assertIn('no flavor nope',
                      self._error('--flavor', 'nope', '--image', 'sev'))

    def test_unknown_image_error_fails(self):
        self.assertIn('no image nope',
                      self._error('--flavor', 'sev', '--image', 'nope'))

    def test_neither_server_nor_flavor_usage_fails(self):
        status, shown, err = self.explain('--flavor', 'sev')
        self.assertEqual((64, None), (status, shown))
        self.assertIn('give SERVER, or --flavor and --image', err)

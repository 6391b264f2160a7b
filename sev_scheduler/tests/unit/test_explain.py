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

"""The parts of ``explain`` that need no cloud: judging and answering."""

import os

import fixtures

from nova.pci import request as pci_request
from nova import test

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.operators import capacity
from sev_scheduler.operators import explain
from sev_scheduler.operators import lookup
from sev_scheduler.operators import requests
from sev_scheduler.tests.unit import canned_cloud
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import releases
from sev_scheduler import verdict

SEV = 'amd-sev'
SLOT = capacity.SLOT


def _host(name='sev1', total=3, used=0, **kwargs):
    kwargs.setdefault('used_all', used)
    kwargs.setdefault('ram_ratio', 1.0)
    kwargs.setdefault('service', 'enabled')
    kwargs.setdefault('offered', True)
    return explain.Host(name=name, model=SEV, total=total, used=used,
                        **kwargs)


def _judged(*hosts, locks_memory=True, isolate=False, model=SEV):
    for host in hosts:
        host.reasons = explain.judge(host, model, locks_memory, isolate)
    return list(hosts)


class JudgeTestCase(test.NoDBTestCase):

    def _reasons(self, host, **kwargs):
        return _judged(host, **kwargs)[0].reasons

    def test_free_host_passes(self):
        self.assertEqual([], self._reasons(_host()))

    def test_full_host_fails(self):
        self.assertEqual(['no free slot (3 of 3 used)'],
                         self._reasons(_host(used=3, offered=False)))

    def test_overcommitted_host_fails(self):
        self.assertEqual(['RAM allocation ratio 1.5 in Placement: amd-sev '
                          'guests lock their memory'],
                         self._reasons(_host(ram_ratio=1.5)))

    def test_unknown_ratio_fails(self):
        # Not known to be safe, as in the filter.
        self.assertEqual(1, len(self._reasons(_host(ram_ratio=None))))

    def test_ratio_not_a_ratio_fails(self):
        # NaN is not above 1.0, and not known to be safe either.
        for ratio in (float('nan'), float('inf'), -1.0):
            self.assertEqual(['RAM allocation ratio %s in Placement: amd-sev '
                              'guests lock their memory' % ratio],
                             self._reasons(_host(ram_ratio=ratio)), ratio)

    def test_overcommit_for_model_not_locking_memory_passes(self):
        self.assertEqual([], self._reasons(_host(ram_ratio=1.5),
                                           locks_memory=False))

    def test_cap_counts_every_model_fails(self):
        host = _host(used=1, used_all=2, cap=2,
                     cap_source='aggregate sev_max_guests')
        self.assertEqual(['cap reached: 2 of 2 encrypted guests (aggregate '
                          'sev_max_guests)'], self._reasons(host))

    def test_under_cap_passes(self):
        self.assertEqual([], self._reasons(_host(used=1, cap=2)))

    def test_disabled_service_fails(self):
        self.assertEqual(['nova-compute disabled (maintenance)'],
                         self._reasons(_host(
                             service='disabled (maintenance)')))

    def test_missing_device_fails(self):
        self.assertEqual(['no free VGPU'], self._reasons(_host(
            offered=False, missing=['VGPU'])))

    def test_not_offered_for_other_resources_fails(self):
        self.assertEqual(1, len(self._reasons(_host(offered=False))))

    def test_plain_request_on_isolated_host_fails(self):
        self.assertEqual(
            ['isolate_sev_hosts keeps guests without encryption off '
             'SEV-capable hosts'],
            self._reasons(_host(used=3), model=None, isolate=True))

    def test_plain_request_passes_full_host(self):
        self.assertEqual([], self._reasons(_host(used=3), model=None))


class AnswerTestCase(test.NoDBTestCase):

    def _answer(self, hosts, refusals=(), devices=(), model=SEV,
                isolate=False):
        return explain.answer(model, list(refusals), hosts, devices,
                              isolate)

    def test_full_cloud(self):
        hosts = _judged(_host('sev1', used=3), _host('sev2', used=3))
        self.assertEqual(
            ('refused: no free amd-sev slot: 2 hosts, 6 of 6 used', 2),
            self._answer(hosts))

    def test_one_full_host_singular(self):
        self.assertEqual(
            ('refused: no free amd-sev slot: 1 host, 3 of 3 used', 2),
            self._answer(_judged(_host(used=3))))

    def test_one_full_host_among_others_singular(self):
        hosts = _judged(_host('sev1', used=3), _host('sev2', ram_ratio=2.0))
        self.assertEqual(
            'refused: sev2: RAM allocation ratio 2.0 in Placement: amd-sev '
            'guests lock their memory; 1 full host', self._answer(hosts)[0])

    def test_no_host_with_slots(self):
        self.assertEqual(('refused: no host has amd-sev slots', 2),
                         self._answer([]))

    def test_no_host_has_device_and_slot(self):
        hosts = _judged(_host(offered=False, missing=['VGPU']),
                        _host('sev2', used=3, offered=False,
                              missing=['VGPU']))
        self.assertEqual(
            ('refused: mdev vGPU and SEV: no host has both', 2),
            self._answer(hosts, ['Memory encryption ...'], {'VGPU': 1}))

    def test_host_with_both_gets_the_filters_verdict(self):
        hosts = _judged(_host())
        self.assertEqual(
            ('refused: Memory encryption (amd-sev) cannot be used with '
             'mdev vGPU', 2),
            self._answer(hosts, ['Memory encryption (amd-sev) cannot be '
                                 'used with mdev vGPU'], {'VGPU': 1}))

    def test_other_device_class_named(self):
        hosts = _judged(_host(offered=False, missing=['FPGA']))
        self.assertEqual('refused: FPGA and SEV-ES: no host has both',
                         self._answer(hosts, devices={'FPGA': 1},
                                      model='amd-sev-es')[0])

    def test_every_host_refused_names_each(self):
        hosts = _judged(_host('sev1', ram_ratio=1.5),
                        _host('sev2', service='disabled'))
        self.assertEqual(
            ('refused: sev1: RAM allocation ratio 1.5 in Placement: amd-sev '
             'guests lock their memory; sev2: nova-compute disabled', 2),
            self._answer(hosts))

    def test_full_hosts_counted_others_named(self):
        hosts = _judged(_host('sev1', used=3), _host('sev2', used=3),
                        _host('sev3', ram_ratio=2.0))
        self.assertEqual(
            ('refused: sev3: RAM allocation ratio 2.0 in Placement: amd-sev '
             'guests lock their memory; 2 full hosts', 2),
            self._answer(hosts))

    def test_fits(self):
        hosts = _judged(_host('sev1', used=3, offered=False), _host('sev2'),
                        _host('sev3'))
        self.assertEqual(('would fit on sev2, sev3', 0),
                         self._answer(hosts))

    def test_plain_request(self):
        self.assertEqual(
            ('not encrypted: SEVFilter does not refuse it', 0),
            self._answer(_judged(_host(), model=None), model=None))

    def test_plain_request_isolated_counts_hosts_not_models(self):
        es = _host()
        es.model = 'amd-sev-es'
        self.assertEqual(
            'not encrypted: SEVFilter keeps it off the 1 SEV-capable host '
            '(isolate_sev_hosts)',
            self._answer(_judged(_host(), es, model=None, isolate=True),
                         model=None, isolate=True)[0])

    def test_plain_request_isolated(self):
        self.assertEqual(
            ('not encrypted: SEVFilter keeps it off the 2 SEV-capable '
             'hosts (isolate_sev_hosts)', 0),
            self._answer(_judged(_host(), _host('sev2'), model=None,
                                 isolate=True),
                         model=None, isolate=True))


class UnseenTestCase(test.NoDBTestCase):
    """What the APIs do not show may be refused: never a fit."""

    def test_fit_with_unseen_cannot_tell(self):
        hosts = _judged(_host('sev1'), _host('sev2', used=3))
        self.assertEqual(
            ('cannot tell: not seen: volume buses, ports (sev1 can take '
             'what the API shows)', 1),
            explain._unsure('would fit on sev1', 0, hosts,
                            ['volume buses', 'ports']))

    def test_fit_all_seen_passes(self):
        self.assertEqual(('would fit on sev1', 0), explain._unsure(
            'would fit on sev1', 0, _judged(_host()), []))

    def test_refusal_with_unseen_stays_refused(self):
        # What is not seen can only add a reason to refuse.
        self.assertEqual(('refused: x', 2), explain._unsure(
            'refused: x', 2, _judged(_host(used=3)), ['ports']))


class FaultReasonTestCase(test.NoDBTestCase):
    """Which faults are SEVFilter's own request-level refusal."""

    PREFIX = 'No valid host was found. '

    def _request(self, extra_specs, properties=None, **kwargs):
        return requests.build(extra_specs, properties or {
            'hw_firmware_type': 'uefi', 'hw_machine_type': 'q35'}, **kwargs)

    def test_conflict_with_model_read(self):
        request = self._request({'hw:mem_encryption': 'true'},
                                volumes=[(None, 'ide')])
        reason, = requests.refusals(request)
        self.assertEqual(reason, verdict.fault_reason(self.PREFIX + reason))

    def test_invalid_request_read(self):
        reason, = requests.refusals(self._request(
            {'hw:mem_encryption': 'maybe'}))
        self.assertTrue(reason.startswith('Invalid memory encryption'))
        self.assertEqual(reason, verdict.fault_reason(self.PREFIX + reason))

    def test_conflict_without_model_read(self):
        reason = 'Memory encryption cannot be used with the IDE bus: x'
        self.assertEqual(reason, verdict.fault_reason(self.PREFIX + reason))

    def test_reason_cut_by_nova_read(self):
        request = self._request(
            {'hw:mem_encryption': 'true'},
            volumes=[(None, 'ide')] * 12)
        reason, = requests.refusals(request)
        cut = (self.PREFIX + reason)[:verdict.FAULT_MESSAGE_BYTES]
        self.assertEqual(cut[len(self.PREFIX):], verdict.fault_reason(cut))

    def test_placement_fault_not_read(self):
        # No candidate: no filter ran, the fault has no reason.
        self.assertIsNone(verdict.fault_reason(self.PREFIX))

    def test_other_reason_not_read(self):
        for message in (
                self.PREFIX + 'Memory encryption was requested but could '
                'not be checked at this time; please try again later',
                self.PREFIX + 'There are not enough hosts available.',
                'Memory encryption (amd-sev) cannot be used with x',
                'Build of instance x aborted', '', None):
            self.assertIsNone(verdict.fault_reason(message), message)


def _asked(host='sev1', node='sev1'):
    return lookup.Asked(flavor={}, image=None, server_id='uuid', host=host,
                        node=node)


class PlacedTestCase(test.NoDBTestCase):
    """A server on a host: where it runs, what it holds."""

    def _placed(self, slots=(), requested=True, model=SEV):
        holding = explain.Holding({}, {}, list(slots))
        return explain.placed(_asked(), holding, requested, model)

    def test_holds_slot_passes(self):
        self.assertEqual(('runs on sev1, holding 1 amd-sev slot', 0),
                         self._placed([('sev1', SEV, 1)]))

    def test_holds_slot_elsewhere_named(self):
        self.assertEqual(
            'runs on sev1, holding 2 amd-sev-es slots on sev2',
            self._placed([('sev2', 'amd-sev-es', 2)])[0])

    def test_plain_server_passes(self):
        self.assertEqual(('runs on sev1, not encrypted', 0),
                         self._placed(requested=False, model=None))

    def test_encrypted_without_slot_warns(self):
        self.assertEqual(
            ('runs on sev1, holding no amd-sev slot though it asks for '
             'memory encryption', 1), self._placed())

    def test_unreadable_request_says_what_it_holds(self):
        self.assertEqual(('runs on sev1, holding no slot', 0),
                         self._placed(requested=None, model=None))


class ReleaseTestCase(test.NoDBTestCase):
    """--again: what the server holds is counted free."""

    def _holding(self):
        return explain.Holding(
            {'root1': {'VCPU': 1, 'MEMORY_MB': 512}, 'child1': {SLOT: 1},
             'root2-es': {SLOT: 1}},
            {'root1': 'root1', 'child1': 'root1', 'root2-es': 'root2'},
            [('sev1', SEV, 1), ('sev2', 'amd-sev-es', 1)])

    def test_own_slot_free(self):
        hosts = [_host('sev1', used=3, used_all=4), _host('sev3', used=3)]
        explain.release(hosts, {'sev1': 'root1', 'sev3': 'root3'},
                        self._holding())
        self.assertEqual([(2, 3), (3, 3)],
                         [(host.used, host.used_all) for host in hosts])

    def test_slot_of_other_model_free_for_cap_only(self):
        host = _host('sev2', used=1, used_all=2)
        explain.release([host], {'sev2': 'root2'}, self._holding())
        self.assertEqual((1, 1), (host.used, host.used_all))

    def test_in_tree(self):
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 512, SLOT: 1},
                         self._holding().in_tree('root1'))


class ReadHoldingTestCase(test.NoDBTestCase):
    """A server's allocations, its slots named by host and model."""

    TRAITS = {'traits': [capacity.MODEL_TRAITS[SEV], 'COMPUTE_NODE']}

    def _cloud(self, allocations, providers, traits):
        bodies = {('placement', '/allocations/uuid'): {
            'allocations': {uuid: {'resources': resources}
                            for uuid, resources in allocations.items()}}}
        for provider in providers:
            bodies['placement', '/resource_providers/%s'
                   % provider['uuid']] = provider
            bodies['placement', '/resource_providers/%s/traits'
                   % provider['uuid']] = traits
        return canned_cloud.CannedCloud(bodies)

    def test_slot_on_child_provider(self):
        cloud = self._cloud(
            {'root1': {'VCPU': 1}, 'child1': {SLOT: 1}},
            [{'uuid': 'root1', 'name': 'sev1', 'root_provider_uuid': 'root1'},
             {'uuid': 'child1', 'name': 'sev1_amd_sev',
              'root_provider_uuid': 'root1'}], self.TRAITS)
        holding = explain.read_holding(cloud, 'uuid', SEV)
        self.assertEqual([('sev1', SEV, 1)], holding.slots)
        self.assertEqual({'VCPU': 1, SLOT: 1}, holding.in_tree('root1'))

    def test_slot_on_root_provider(self):
        # Before Nova 2025.2.
        cloud = self._cloud(
            {'root1': {'VCPU': 1, SLOT: 1}},
            [{'uuid': 'root1', 'name': 'sev1', 'root_provider_uuid': 'root1'}],
            self.TRAITS)
        self.assertEqual([('sev1', SEV, 1)],
                         explain.read_holding(cloud, 'uuid', None).slots)

    def test_nothing_held(self):
        holding = explain.read_holding(self._cloud({}, [], {}), 'uuid', SEV)
        self.assertEqual(([], {}), (holding.slots, holding.in_tree('root1')))


class _NovasQueryCloud(canned_cloud.CannedCloud):
    """Nova's query answered with no candidate, whatever its suffixes.

    The suffixes of its PCI groups are made up each time.
    """

    def get(self, service, url, microversion=None):
        if url.startswith('/allocation_candidates?limit='):
            self.urls.append((service, url))
            return {'provider_summaries': {}}
        return super().get(service, url, microversion)


@releases.requires_model(compat.AMD_SEV_SNP)
class ConfidentialDeviceTestCase(test.NoDBTestCase):
    """A GPU in CC mode, as the scheduler's [pci] alias asks for it."""

    CC_GPU = "PCI device 'cc-gpu' with CUSTOM_NVIDIA_CC_ON"

    def setUp(self):
        super().setUp()
        factories.confidential_gpu_options(self.flags)
        # Nova reads [pci] alias once per process.
        pci_request.get_alias_from_config.cache_clear()
        self.addCleanup(pci_request.get_alias_from_config.cache_clear)

    def _request(self, model='amd-sev-snp'):
        return requests.build(
            {'hw:mem_encryption': 'true', 'hw:mem_encryption_model': model,
             'pci_passthrough:alias': 'cc-gpu:1'},
            {'hw_firmware_type': 'uefi', 'hw_firmware_stateless': 'true'})

    def test_device_listing_asks_for_the_alias_trait(self):
        request = self._request()
        request.flavor.update({'vcpus': 1, 'memory_mb': 512, 'root_gb': 1,
                               'ephemeral_gb': 0, 'swap': 0})
        resource_request, query = explain._placement_query(request)
        # Nova's own query asks for a device with the trait.
        self.assertIn('=CUSTOM_NVIDIA_CC_ON', query)
        self.assertEqual(
            {self.CC_GPU: ('/resource_providers?resources=CUSTOM_PCI_10DE_'
                           '2331:1&required=CUSTOM_NVIDIA_CC_ON',
                           {'CUSTOM_PCI_10DE_2331'})},
            explain._devices(resource_request, request))

    def _placed_on_full_host(self):
        """(a Cloud, Asked): an SNP server holding the one slot and GPU.

        Placement, as it answers while the server holds them, offers no
        host and lists no free CC GPU.
        """
        asked = lookup.Asked(
            flavor={'name': 'snp-gpu', 'vcpus': 1, 'ram': 512, 'disk': 1,
                    'extra_specs': {'hw:mem_encryption': 'true',
                                    'hw:mem_encryption_model': 'amd-sev-snp',
                                    'pci_passthrough:alias': 'cc-gpu:1'}},
            image={'id': 'image', 'name': 'snp',
                   'hw_firmware_type': 'uefi',
                   'hw_firmware_stateless': 'true'},
            server_id='uuid', host='snp1', node='snp1')
        slot = {'uuid': 'slot1', 'name': 'snp1_amd_sev_snp',
                'root_provider_uuid': 'root1'}
        gpu = {'uuid': 'gpu1', 'name': 'snp1_0000:81:00.0',
               'root_provider_uuid': 'root1'}
        bodies = {
            ('compute', '/os-hypervisors/detail'): {'hypervisors': [
                {'hypervisor_hostname': 'snp1', 'id': 'root1',
                 'status': 'enabled', 'state': 'up',
                 'service': {'host': 'snp1'}}]},
            ('compute', '/os-aggregates'): {'aggregates': []},
            ('placement', '/allocation_candidates?resources=%s:1' % SLOT):
                {'provider_summaries': {}},
            ('placement', '/resource_providers/slot1/inventories'): {
                'inventories': {SLOT: {'total': 1, 'reserved': 0,
                                       'allocation_ratio': 1.0}}},
            ('placement', '/resource_providers/slot1/usages'):
                {'usages': {SLOT: 1}},
            ('placement', '/resource_providers/root1/inventories'): {
                'inventories': {'MEMORY_MB': {'allocation_ratio': 1.0}}},
            ('placement', '/allocations/uuid'): {'allocations': {
                'root1': {'resources': {'VCPU': 1, 'MEMORY_MB': 512,
                                        'DISK_GB': 1}},
                'slot1': {'resources': {SLOT: 1}},
                'gpu1': {'resources': {'CUSTOM_PCI_10DE_2331': 1}}}},
            ('placement', '/resource_providers/root1'): {
                'uuid': 'root1', 'name': 'snp1',
                'root_provider_uuid': 'root1'},
            ('placement', '/resource_providers/slot1'): slot,
            ('placement', '/resource_providers/gpu1'): gpu,
            ('placement', '/resource_providers/slot1/traits'): {
                'traits': [capacity.MODEL_TRAITS['amd-sev-snp']]},
            ('placement', '/resource_providers/gpu1/traits'): {
                'traits': ['CUSTOM_NVIDIA_CC_ON']},
            ('placement', '/resource_providers?resources='
             'CUSTOM_PCI_10DE_2331:1&required=CUSTOM_NVIDIA_CC_ON'):
                {'resource_providers': []},
        }
        for model, trait in capacity.MODEL_TRAITS.items():
            bodies['placement', '/resource_providers?required=%s' % trait] = {
                'resource_providers': [slot] if model == 'amd-sev-snp'
                else []}
        return _NovasQueryCloud(bodies), asked

    def test_placed_server_runs_passes(self):
        result = explain.explain(*self._placed_on_full_host(), 'test')
        self.assertEqual(('runs on snp1, holding 1 amd-sev-snp slot', 0),
                         (result.answer, result.exit_code))

    def test_again_own_slot_and_device_free_passes(self):
        result = explain.explain(*self._placed_on_full_host(), 'test',
                                 again=True)
        self.assertEqual(
            ('runs on snp1, holding 1 amd-sev-snp slot; again: would fit '
             'on snp1', 0), (result.answer, result.exit_code))
        host, = result.hosts
        self.assertEqual((0, None, []), (host.used, host.offered,
                                         host.missing))

    def test_snp_alias_shown_allowed(self):
        self.assertEqual(
            ["flavor alias 'cc-gpu': %s" % requests.CONFIDENTIAL_DEVICE],
            requests.device_verdicts(self._request()))

    def test_sev_alias_shown_refused_with_way_out(self):
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' (use amd-sev-snp and an "
             "alias listed in [sev_scheduler] snp_pci_aliases)"],
            requests.device_verdicts(self._request('amd-sev')))

    def test_no_host_with_cc_device_and_slot(self):
        hosts = _judged(_host(offered=False, missing=[self.CC_GPU]),
                        _host('snp2', offered=False, missing=[self.CC_GPU]),
                        model='amd-sev-snp')
        self.assertEqual(
            "no free PCI device 'cc-gpu' with CUSTOM_NVIDIA_CC_ON",
            hosts[0].reasons[0])
        self.assertEqual(
            ("refused: PCI device 'cc-gpu' with CUSTOM_NVIDIA_CC_ON and "
             "SEV-SNP: no host has both", 2),
            explain.answer('amd-sev-snp', [], hosts, [self.CC_GPU]))

    def test_device_options_shown_when_set(self):
        self.assertEqual(
            ['snp_pci_aliases=cc-gpu',
             'confidential_device_traits=CUSTOM_NVIDIA_CC_ON',
             '[filter_scheduler] pci_in_placement=True'],
            explain.configuration('nova.conf')[-3:])


class ReadingTestCase(test.NoDBTestCase):

    def test_aggregate_cap_replaces_option(self):
        self.flags(max_guests_per_host=5, group='sev_scheduler')
        aggregates = [{'name': 'a', 'hosts': ['sev1'],
                       'metadata': {'sev_max_guests': '8'}},
                      {'name': 'b', 'hosts': ['sev1'],
                       'metadata': {'sev_max_guests': '0'}},
                      {'name': 'c', 'hosts': ['sev2'],
                       'metadata': {'sev_max_guests': '1'}}]
        self.assertEqual((8, 'aggregate sev_max_guests'),
                         explain.host_cap('sev1', aggregates))
        self.assertEqual((5, '[sev_scheduler] max_guests_per_host'),
                         explain.host_cap('sev3', aggregates))

    def test_no_cap(self):
        self.assertEqual((0, None), explain.host_cap('sev1', []))


class ConfigureTestCase(test.NoDBTestCase):

    def _nova_conf(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as conf_file:
            conf_file.write(text)
        return path

    def test_scheduler_options_read(self):
        path = self._nova_conf('[sev_scheduler]\nmax_guests_per_host = 3\n'
                               'checks = mdev_vgpu\n')
        explain.configure([path])
        self.assertEqual(3, conf.CONF.sev_scheduler.max_guests_per_host)
        self.assertEqual(
            [path, 'checks=mdev_vgpu', 'safe_resource_classes=(none)',
             'allow_memory_overcommit=False', 'max_guests_per_host=3',
             'isolate_sev_hosts=False'],
            explain.configuration(path))

    def test_bad_value_fails(self):
        path = self._nova_conf('[sev_scheduler]\nmax_guests_per_host = -1\n')
        error = self.assertRaises(explain.ExplainError, explain.configure,
                                  [path])
        self.assertIn('max_guests_per_host', str(error))

    def test_missing_file_fails(self):
        self.assertRaises(explain.ExplainError, explain.configure,
                          ['/nonexistent/nova.conf'])

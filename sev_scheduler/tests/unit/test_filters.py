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

import logging

import fixtures
from keystoneauth1 import exceptions as ks_exc
import os_resource_classes as orc
import os_traits
from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.pci import request as pci_request
from nova import test
from nova.tests import fixtures as nova_fixtures

from sev_scheduler import aggregates
from sev_scheduler.checks import base as checks_base
from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import faults
from sev_scheduler.tests.unit import releases

# The models whose guests' memory is locked, so cannot be overcommitted.
LOCKING_MODELS = [model for model in ('amd-sev', 'amd-sev-es')
                  if model in compat.AMD_MODELS]


class _Objects(checks_base.RequestCheck):
    """A check objecting to the same things in every request."""

    def __init__(self, conflicts):
        self._conflicts = conflicts

    def conflicts(self, request):
        return self._conflicts


class SEVFilterTestCase(test.TestCase):
    """SEVFilter on real RequestSpecs and HostStates.

    A database holds the BuildRequest of the server being booted, where the
    filter reads its block device mappings (and, where Nova drops the image
    model, the image as written), as in a real scheduler; Glance holds a
    rebuild's new image.
    """

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        factories.build_request(self.context)
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))
        self.placement = fake_placement.use(self)
        self.filter = filters.SEVFilter()
        self.sev1 = factories.sev_host('sev1', layout='child')
        self.sev2 = factories.sev_host('sev2', layout='root')
        self.plain = factories.plain_host('plain')
        self.hosts = [self.sev1, self.sev2, self.plain]

    def _passing(self, spec_obj, hosts=None):
        hosts = factories.as_nova_hands_them(
            spec_obj, self.hosts if hosts is None else hosts)
        return list(self.filter.filter_all(hosts, spec_obj))

    def _refusal(self, spec_obj, hosts=None):
        error = self.assertRaises(
            exception.NoValidHost, self._passing, spec_obj, hosts)
        # Raised "from None": no chained traceback in the server's fault.
        self.assertTrue(error.__suppress_context__)
        return error.format_message()

    def _assert_unchecked(self, message, detail):
        faults.assert_unchecked(self, message, detail,
                                self.stdlog.logger.output)

    def _assert_refused_with(self, spec_obj, *words):
        message = self._refusal(spec_obj)
        for word in words:
            self.assertIn(word, message)
        return message

    # Requests without memory encryption

    def test_plain_request_hosts_untouched_passes(self):
        hosts = iter(self.hosts)
        self.assertIs(hosts, self.filter.filter_all(hosts, factories.spec()))

    def test_plain_request_no_per_host_work_passes(self):
        overcommitted = factories.plain_host('oc', ram_allocation_ratio=1.5)
        candidates = [h.allocation_candidates for h in self.hosts]
        self.assertEqual(self.hosts + [overcommitted],
                         self._passing(factories.spec(),
                                       self.hosts + [overcommitted]))
        self.assertEqual(candidates,
                         [h.allocation_candidates for h in self.hosts])
        for host, before in zip(self.hosts, candidates):
            self.assertIs(before, host.allocation_candidates)

    def test_explicit_no_passes_every_host(self):
        spec_obj = factories.spec({'hw:mem_encryption': 'false'})
        self.assertEqual(self.hosts, self._passing(spec_obj))

    @releases.requires_model(compat.INTEL_TDX)
    def test_intel_tdx_request_not_ours_passes(self):
        spec_obj = factories.encrypted_spec(
            model='intel-tdx', image_properties={'hw_video_model': 'none'})
        self.assertEqual(self.hosts, self._passing(spec_obj))

    # Capacity, both Placement layouts

    def test_encrypted_request_sev_hosts_both_layouts_passes(self):
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))

    def test_encrypted_request_candidates_untouched_passes(self):
        # Nova's query asked for the slot: nothing to narrow per host.
        hosts = [factories.sev_host('a'), factories.sev_host('b')]
        before = [host.allocation_candidates for host in hosts]
        self.assertEqual(hosts, list(self.filter.filter_all(
            hosts, factories.encrypted_spec())))
        for host, candidates in zip(hosts, before):
            self.assertIs(candidates, host.allocation_candidates)

    def test_encrypted_request_host_without_candidates_fails(self):
        # Nova hands none such; dropped all the same, given directly.
        host = factories.host('empty', uuids.empty, candidates=[])
        self.assertEqual([self.sev1], list(self.filter.filter_all(
            [host, self.sev1], factories.encrypted_spec())))

    def test_dropped_host_debug_off_no_log_call_fails(self):
        # With debug off, as in production, a dropped host costs no call.
        logger = filters.LOG.logger
        self.addCleanup(logger.setLevel, logger.level)
        logger.setLevel(logging.INFO)
        debug = self.useFixture(fixtures.MockPatchObject(filters.LOG,
                                                         'debug')).mock
        overcommitted = factories.sev_host('oc', ram_allocation_ratio=1.5)
        empty = factories.host('empty', uuids.empty, candidates=[])
        self.assertEqual([], list(self.filter.filter_all(
            [overcommitted, empty], factories.encrypted_spec())))
        debug.assert_not_called()

    def test_every_model_sev_host_passes(self):
        for model in compat.AMD_MODELS:
            hosts = [factories.sev_host('sev')]
            self.assertEqual(
                hosts, self._passing(factories.encrypted_spec(model), hosts),
                model)

    # Where the request's reading and Nova's query differ, which no request
    # read today leads to: candidates are narrowed to those with a slot.

    def _narrowing(self, spec_obj, hosts):
        self.useFixture(fixtures.MockPatchObject(
            sev_request.Request, 'slot_in_query', False))
        return list(self.filter.filter_all(hosts, spec_obj))

    def test_slot_not_queried_host_without_slot_fails(self):
        self.assertEqual([self.sev1, self.sev2], self._narrowing(
            factories.encrypted_spec(), self.hosts))

    def test_slot_not_queried_keeps_only_slot_candidates(self):
        root, child = uuids.mixed, uuids.mixed_amd_sev
        with_slot = factories.candidate(root, child)
        host = factories.host('mixed', root, [factories.candidate(root),
                                              with_slot])
        self.assertEqual([host], self._narrowing(factories.encrypted_spec(),
                                                 [host]))
        self.assertEqual([with_slot], host.allocation_candidates)

    def test_slot_not_queried_dropped_host_one_debug_line_fails(self):
        # Nova's CandidateFilterMixin logs two lines per candidate.
        log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(name)s: %(message)s'))
        root = uuids.noslot
        host = factories.host('noslot', root,
                              [factories.candidate(root)] * 3)
        self.assertEqual([], self._narrowing(factories.encrypted_spec(),
                                             [host]))
        lines = [line for line in log.output.splitlines()
                 if 'noslot' in line or 'candidate' in line]
        self.assertEqual(1, len(lines), lines)
        self.assertIn('sev_scheduler.filters: ', lines[0])
        self.assertIn('fails memory encryption: no free amd-sev slot',
                      lines[0])

    def test_image_request_sev_hosts_passes(self):
        spec_obj = factories.spec(image_properties=dict(
            factories.UEFI, hw_mem_encryption=True))
        self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))

    def test_multi_create_reads_request_once(self):
        spec_obj = factories.encrypted_spec()
        self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))
        with fixtures.MockPatch(
                'sev_scheduler.request.Request.__init__',
                side_effect=AssertionError('read twice')):
            self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))

    # Memory

    def _overcommitted_hosts(self, ratio=1.5):
        return [factories.sev_host('oc', ram_allocation_ratio=ratio),
                factories.sev_host('ok', ram_allocation_ratio=1.0)]

    def test_overcommitted_host_sev_and_sev_es_fails(self):
        for model in LOCKING_MODELS:
            hosts = self._overcommitted_hosts()
            self.assertEqual([hosts[1]], self._passing(
                factories.encrypted_spec(model), hosts), model)

    def test_unknown_ram_ratio_sev_fails(self):
        hosts = self._overcommitted_hosts(ratio=None)
        self.assertEqual([hosts[1]],
                         self._passing(factories.encrypted_spec(), hosts))

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_overcommitted_host_sev_snp_passes(self):
        hosts = self._overcommitted_hosts()
        self.assertEqual(hosts, self._passing(
            factories.encrypted_spec('amd-sev-snp'), hosts))

    def test_overcommitted_host_allowed_by_option_passes(self):
        self.flags(allow_memory_overcommit=True, group='sev_scheduler')
        hosts = self._overcommitted_hosts()
        self.assertEqual(hosts,
                         self._passing(factories.encrypted_spec(), hosts))

    # Invalid requests

    def test_malformed_value_fails(self):
        spec_obj = factories.spec({'hw:mem_encryption': 'maybe'})
        self._assert_refused_with(
            spec_obj, "Invalid memory encryption request",
            "hw:mem_encryption extra spec is 'maybe'")

    def test_invalid_request_refused_before_lookups(self):
        # No BuildRequest to read: the checks must not even look.
        objects.BuildRequest.get_by_instance_uuid(
            self.context, uuids.instance).destroy()
        self._assert_refused_with(
            factories.spec({'hw:mem_encryption': 'maybe'}),
            "Invalid memory encryption request")

    def test_unknown_model_fails(self):
        self._assert_refused_with(
            factories.encrypted_spec('amd-sev-xx'),
            "Invalid memory encryption request",
            "'amd-sev-xx', which is not a memory encryption model")

    def test_missing_uefi_fails(self):
        spec_obj = factories.spec({'hw:mem_encryption': 'true'})
        self._assert_refused_with(spec_obj, "hw_firmware_type")

    def test_refusal_logged_once_with_instance_uuid(self):
        spec_obj = factories.spec({'hw:mem_encryption': 'maybe'})
        reason = self._refusal(spec_obj).replace(
            'No valid host was found. ', '')
        log = self.stdlog.logger.output
        self.assertEqual(1, log.count(reason))
        line = [ln for ln in log.splitlines() if reason in ln][0]
        self.assertIn('INFO', line)
        self.assertIn(uuids.instance, line)

    # Request checks

    def test_pci_flavor_alias_fails(self):
        pci_request = objects.InstancePCIRequest(
            count=1, spec=[{'vendor_id': '10de'}], alias_name='gpu')
        spec_obj = factories.encrypted_spec(
            extra_specs={'pci_passthrough:alias': 'gpu:1'},
            pci_requests=[pci_request])
        message = self._refusal(spec_obj)
        self.assertEqual("No valid host was found. Memory encryption "
                         "(amd-sev) cannot be used with PCI passthrough: "
                         "flavor alias 'gpu'", message)

    def test_sriov_port_fails(self):
        pci_request = objects.InstancePCIRequest(
            count=1, spec=[{'physical_network': 'physnet1'}],
            alias_name=None, requester_id=uuids.port)
        self._assert_refused_with(
            factories.encrypted_spec(pci_requests=[pci_request]),
            "PCI passthrough: SR-IOV port %s" % uuids.port)

    def _confidential_gpu(self, model):
        """An encrypted spec with Nova's PCI request for a CC-mode GPU."""
        factories.confidential_gpu_options(self.flags)
        extra_specs = {'pci_passthrough:alias': 'cc-gpu:1'}
        return factories.encrypted_spec(
            model, extra_specs=extra_specs,
            pci_requests=pci_request.get_pci_requests_from_flavor(
                factories.flavor(extra_specs)).requests)

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_confidential_gpu_passes(self):
        self.assertEqual([self.sev1, self.sev2], self._passing(
            self._confidential_gpu(compat.AMD_SEV_SNP)))

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_sev_confidential_gpu_fails(self):
        self.assertEqual(
            "No valid host was found. Memory encryption (amd-sev) cannot be "
            "used with PCI passthrough: flavor alias 'cc-gpu' (use "
            "amd-sev-snp and an alias listed in [sev_scheduler] "
            "snp_pci_aliases)",
            self._refusal(self._confidential_gpu(compat.AMD_SEV)))

    def test_vgpu_fails(self):
        self._assert_refused_with(
            factories.encrypted_spec(extra_specs={'resources1:VGPU': '1'}),
            "mdev vGPU: flavor extra spec resources1:VGPU=1")

    def test_non_virtio_boot_disk_fails(self):
        self._assert_refused_with(
            factories.encrypted_spec(image_properties={'hw_disk_bus': 'usb'}),
            "boot disk bus 'usb' (image property hw_disk_bus)")

    def test_ide_volume_fails(self):
        objects.BuildRequest.get_by_instance_uuid(
            self.context, uuids.instance).destroy()
        factories.build_request(self.context, bdms=[
            factories.volume_bdm(self.context, uuids.instance),
            factories.volume_bdm(self.context, uuids.instance, 'ide', None,
                                 uuids.data)])
        self._assert_refused_with(
            factories.encrypted_spec(),
            "the IDE bus: volume %s (block device mapping disk_bus=ide)"
            % uuids.data)

    def test_ide_cdrom_fails(self):
        self._assert_refused_with(
            factories.encrypted_spec(
                image_properties={'hw_cdrom_bus': 'ide'}),
            "the IDE bus: image property hw_cdrom_bus=ide")

    def test_every_conflict_in_one_reason(self):
        message = self._refusal(factories.encrypted_spec(
            extra_specs={'resources:VGPU': '1'},
            image_properties={'hw_disk_bus': 'ide'}))
        for words in ("mdev vGPU", "boot disk bus 'ide'",
                      "image property hw_disk_bus=ide"):
            self.assertIn(words, message)

    def test_long_refusal_names_every_conflict_within_fault(self):
        # Nova keeps 255 bytes of the fault's message, which a plain list
        # of these would cut mid-UUID, before the vGPU.
        volumes = [uuids.data1, uuids.data2, uuids.data3]
        conflicts = ['the IDE bus: volume %s (block device mapping '
                     'disk_bus=ide)' % volume for volume in volumes]
        conflicts.append('mdev vGPU: flavor extra spec resources:VGPU=1')
        self.filter._checks = [_Objects(conflicts)]
        message = self._refusal(factories.encrypted_spec())
        kept = message.encode('utf-8')[:255].decode('utf-8', 'ignore')
        self.assertIn("Memory encryption (amd-sev) cannot be used with "
                      "the IDE bus (3), mdev vGPU. Details: ", kept)
        self.assertIn('; '.join(conflicts), message)

    def test_long_refusal_long_kinds_cut_to_fit(self):
        conflicts = ['%s %s' % (kind * 30, uuids.instance)
                     for kind in 'abcdefgh']
        self.filter._checks = [_Objects(conflicts)]
        message = self._refusal(factories.encrypted_spec())
        kept = message.encode('utf-8')[:255].decode('utf-8', 'ignore')
        for kind in 'abcdefgh':
            self.assertIn(kind * 8, kept)
        self.assertIn('; '.join(conflicts), message)

    def test_short_refusal_lists_conflicts_alone(self):
        message = self._refusal(factories.encrypted_spec(
            extra_specs={'resources:VGPU': '1'},
            image_properties={'hw_cdrom_bus': 'ide'}))
        self.assertLessEqual(len(message), 255)
        self.assertNotIn('Details', message)

    def test_disabled_check_passes(self):
        self.flags(checks=['pci_passthrough', 'boot_disk_bus', 'ide_devices'],
                   group='sev_scheduler')
        self.filter = filters.SEVFilter()
        spec_obj = factories.encrypted_spec(
            extra_specs={'resources:VGPU': '1'})
        self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))

    def test_unknown_check_name_fails_at_start(self):
        self.flags(checks=['pci_passthrough', 'gpu_stuff'],
                   group='sev_scheduler')
        error = self.assertRaises(ValueError, filters.SEVFilter)
        self.assertIn('[sev_scheduler] checks', str(error))
        self.assertIn('gpu_stuff', str(error))
        self.assertIn('mdev_vgpu', str(error))

    def test_plain_request_with_conflicts_passes(self):
        spec_obj = factories.spec({'resources:VGPU': '1'},
                                  {'hw_disk_bus': 'ide'})
        self.assertEqual(self.hosts, self._passing(spec_obj))

    # Rebuild

    def _rebuild_spec(self, model=None):
        """A rebuild to a new image, which Glance holds as written."""
        spec_obj = factories.encrypted_spec(model, rebuild=True)
        self.glance.create(None, {
            'id': spec_obj.image.id, 'name': 'new image',
            'properties': dict(factories.SNP if model == 'amd-sev-snp'
                               else factories.UEFI)})
        return spec_obj

    def _hold_slot(self, rp_uuid, *traits):
        self.placement.allocations[uuids.instance] = {
            self.sev1.uuid: {orc.VCPU: 1},
            rp_uuid: {orc.MEM_ENCRYPTION_CONTEXT: 1}}
        self.placement.traits[rp_uuid] = traits

    def test_rebuild_plain_image_untouched_passes(self):
        spec_obj = factories.spec(rebuild=True)
        self.assertEqual([self.plain], self._passing(spec_obj, [self.plain]))
        self.assertEqual(0, self.placement.calls)

    def test_rebuild_adding_encryption_without_slot_fails(self):
        spec_obj = self._rebuild_spec()
        message = self._refusal(spec_obj, [self.plain])
        self.assertIn("holds no amd-sev encryption slot", message)
        self.assertEqual(1, self.placement.calls)

    def test_rebuild_same_model_child_slot_passes(self):
        self._hold_slot(uuids.sev1_amd_sev, os_traits.HW_CPU_X86_AMD_SEV)
        host = factories.host('sev1', self.sev1.uuid, [],
                              ram_allocation_ratio=1.5)
        self.assertEqual([host], self._passing(self._rebuild_spec(),
                                               [host]))
        self.assertEqual(2, self.placement.calls)

    def test_rebuild_same_model_root_slot_passes(self):
        self._hold_slot(self.sev1.uuid)
        host = factories.host('sev1', self.sev1.uuid, [])
        self.assertEqual([host], self._passing(self._rebuild_spec(),
                                               [host]))
        self.assertEqual(1, self.placement.calls)

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_rebuild_changing_model_fails(self):
        self._hold_slot(uuids.sev1_amd_sev, os_traits.HW_CPU_X86_AMD_SEV)
        host = factories.host('sev1', self.sev1.uuid, [])
        message = self._refusal(self._rebuild_spec('amd-sev-es'), [host])
        self.assertIn("holds no amd-sev-es encryption slot", message)

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_rebuild_root_slot_other_model_fails(self):
        # A slot on the root provider is the layout before Nova 2025.2,
        # which knew AMD SEV alone.
        self._hold_slot(self.sev1.uuid)
        for model in compat.AMD_MODELS[1:]:
            host = factories.host('sev1', self.sev1.uuid, [])
            message = self._refusal(
                factories.encrypted_spec(model, rebuild=True), [host])
            self.assertIn("holds no %s encryption slot" % model, message)

    # Failures

    def test_placement_down_encrypted_rebuild_fails(self):
        self.placement.error = ks_exc.ConnectFailure('no route')
        host = factories.host('sev1', self.sev1.uuid, [])
        message = self._refusal(self._rebuild_spec(), [host])
        self._assert_unchecked(message,
                               "Placement is unreachable (ConnectFailure)")

    def _break_nova_helper(self):
        self.useFixture(fixtures.MockPatch(
            'nova.virt.hardware.get_mem_encryption_constraint',
            side_effect=RuntimeError('bug')))

    def test_reading_fails_plain_request_passes(self):
        self._break_nova_helper()
        self.assertEqual(self.hosts, self._passing(factories.spec()))

    def test_reading_fails_encrypted_request_fails(self):
        self._break_nova_helper()
        self._assert_unchecked(self._refusal(factories.encrypted_spec()),
                               "internal error (RuntimeError)")
        # A bug of ours: the traceback is logged too.
        self.assertIn("RuntimeError: bug", self.stdlog.logger.output)

    def test_broken_host_state_encrypted_fails(self):
        broken = factories.sev_host('broken', ram_allocation_ratio='lots')
        message = self._refusal(factories.encrypted_spec(),
                                self.hosts + [broken])
        self._assert_unchecked(message, "internal error (TypeError)")


class CapAndIsolationTestCase(test.TestCase):
    """The per-host cap and isolation, from the request's one view."""

    def setUp(self):
        super().setUp()
        factories.build_request(nova_context.get_admin_context())
        self.placement = fake_placement.use(self)
        # sev1: slots on a child provider, 3 of 10 used; sev2: on its root
        # (before Nova 2025.2), 1 of 10 used.
        self.placement.add_slots(uuids.sev1_amd_sev, uuids.sev1, 'amd-sev',
                                 10, 3)
        self.placement.add_slots(uuids.sev2, uuids.sev2, 'amd-sev', 10, 1)
        self.sev1 = factories.sev_host('sev1', layout='child')
        self.sev2 = factories.sev_host('sev2', layout='root')
        self.plain = factories.plain_host('plain')
        self.hosts = [self.sev1, self.sev2, self.plain]

    def _passing(self, spec_obj):
        return list(filters.SEVFilter().filter_all(
            factories.as_nova_hands_them(spec_obj, self.hosts), spec_obj))

    def test_no_cap_memory_unlocked_no_placement_call_passes(self):
        self.flags(allow_memory_overcommit=True, group='sev_scheduler')
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))
        self.assertEqual(0, self.placement.calls)

    def test_locked_memory_one_call_per_tree_passes(self):
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))
        self.assertEqual(2, self.placement.calls)

    def test_placement_memory_ratio_above_one_fails(self):
        # HostState says 1.0; Placement counts (16384 - 512) x 1.5.
        for host in self.hosts:
            host.total_usable_ram_mb = 16384
        self.placement.memory[uuids.sev1] = int((16384 - 512) * 1.5)
        self.placement.memory[uuids.sev2] = 16384 - 512
        self.assertEqual([self.sev2],
                         self._passing(factories.encrypted_spec()))
        self.assertEqual(2, self.placement.calls)

    def test_placement_memory_ratio_unknown_total_fails(self):
        self.placement.memory[uuids.sev1] = 1024
        self.assertEqual([self.sev2],
                         self._passing(factories.encrypted_spec()))

    def test_placement_memory_ratio_allowed_by_option_passes(self):
        self.flags(allow_memory_overcommit=True, group='sev_scheduler')
        self.placement.memory[uuids.sev1] = 10 ** 6
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_placement_memory_ratio_sev_snp_passes(self):
        self.placement.memory[uuids.sev1] = 10 ** 6
        self.assertEqual([self.sev1, self.sev2], self._passing(
            factories.encrypted_spec('amd-sev-snp')))

    def test_placement_down_memory_check_encrypted_fails(self):
        self.placement.error = ks_exc.ConnectFailure('down')
        error = self.assertRaises(exception.NoValidHost, self._passing,
                                  factories.encrypted_spec())
        faults.assert_unchecked(self, error.format_message(),
                                'Placement is unreachable (ConnectFailure)',
                                self.stdlog.logger.output)

    # Multi-create: Nova filters once per instance with the same
    # RequestSpec, and consumes the chosen HostState in between.

    def _place_instances(self, spec_obj, count):
        """Filter as Nova does per instance; the first passing host wins."""
        chosen = []
        for _ in range(count):
            passing = list(filters.SEVFilter().filter_all(
                factories.as_nova_hands_them(spec_obj, self.hosts),
                spec_obj))
            if not passing:
                break
            passing[0].consume_from_request(spec_obj)
            chosen.append(passing[0].host)
        return chosen

    def _multi_create_spec(self, count):
        spec_obj = factories.encrypted_spec(numa_topology=None)
        spec_obj.num_instances = count
        return spec_obj

    def test_multi_create_counts_own_claims_against_cap(self):
        # sev1 has 3 slots used, sev2 1: a cap of 4 leaves 1 and 3.
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        self.assertEqual(['sev1', 'sev2', 'sev2', 'sev2'],
                         self._place_instances(self._multi_create_spec(5),
                                               5))
        self.assertEqual(2, self.placement.calls)

    def test_multi_create_cap_one_one_per_host(self):
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        self.placement.providers.clear()
        self.placement.add_slots(uuids.sev1_amd_sev, uuids.sev1, 'amd-sev',
                                 10, 3)
        self.placement.add_slots(uuids.sev2, uuids.sev2, 'amd-sev', 10, 3)
        self.assertEqual(['sev1', 'sev2'],
                         self._place_instances(self._multi_create_spec(3),
                                               3))

    def test_other_request_counts_nothing(self):
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        self._place_instances(self._multi_create_spec(1), 1)
        # sev1 was consumed by another request: this one's view is its own.
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))

    def test_cap_reached_fails(self):
        self.flags(max_guests_per_host=3, group='sev_scheduler')
        self.assertEqual([self.sev2],
                         self._passing(factories.encrypted_spec()))
        self.assertEqual(2, self.placement.calls)

    def test_aggregate_cap_lowest_wins(self):
        self.sev2.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': '5'}),
            objects.Aggregate(metadata={'sev_max_guests': '1'})]
        self.assertEqual([self.sev1],
                         self._passing(factories.encrypted_spec()))
        self.assertEqual(2, self.placement.calls)

    def test_aggregate_cap_zero_beside_real_cap_fails(self):
        # 0 is "no cap": it never lifts another aggregate's cap of 1.
        self.sev2.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': '0'}),
            objects.Aggregate(metadata={'sev_max_guests': '1'})]
        self.assertEqual([self.sev1],
                         self._passing(factories.encrypted_spec()))

    def test_aggregate_cap_zero_keeps_option_cap_fails(self):
        self.flags(max_guests_per_host=1, group='sev_scheduler')
        self.sev2.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': '0'})]
        self.assertEqual([], self._passing(factories.encrypted_spec()))

    def test_aggregate_cap_zero_alone_passes(self):
        self.sev2.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': '0'})]
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))

    def test_negative_aggregate_cap_ignored(self):
        self.useFixture(fixtures.MockPatchObject(aggregates, '_reported',
                                                 set()))
        self.sev2.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': '-2'})]
        self.assertEqual([self.sev1, self.sev2],
                         self._passing(factories.encrypted_spec()))
        self.assertIn("Ignoring aggregate metadata sev_max_guests='-2'",
                      self.stdlog.logger.output)

    def test_bad_aggregate_cap_ignored_for_that_aggregate(self):
        self.useFixture(fixtures.MockPatchObject(aggregates, '_reported',
                                                 set()))
        # sev1 has 3 slots used: the valid aggregate's cap of 3 applies.
        self.sev1.aggregates = [
            objects.Aggregate(metadata={'sev_max_guests': 'lots'}),
            objects.Aggregate(metadata={'sev_max_guests': '3'})]
        self.assertEqual([self.sev2],
                         self._passing(factories.encrypted_spec()))
        # And again: still one warning.
        self._passing(factories.encrypted_spec())
        self.assertEqual(1, self.stdlog.logger.output.count(
            "Ignoring aggregate metadata sev_max_guests='lots'"))

    def test_cap_placement_down_encrypted_fails(self):
        self.flags(max_guests_per_host=3, group='sev_scheduler')
        self.placement.error = ks_exc.ConnectFailure('down')
        error = self.assertRaises(exception.NoValidHost, self._passing,
                                  factories.encrypted_spec())
        faults.assert_unchecked(self, error.format_message(),
                                'Placement is unreachable (ConnectFailure)',
                                self.stdlog.logger.output)

    def test_isolation_keeps_plain_off_sev_hosts(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.assertEqual([self.plain], self._passing(factories.spec()))
        self.assertEqual(1, self.placement.calls)

    def test_isolation_counts_full_sev_hosts(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.placement.providers.clear()
        self.placement.add_slots(uuids.sev1_amd_sev, uuids.sev1, 'amd-sev',
                                 2, 2)
        self.assertEqual([self.sev2, self.plain],
                         self._passing(factories.spec()))

    def test_isolation_rebuild_plain_on_sev_host_passes(self):
        # A rebuild keeps its host: isolation is for placing guests.
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.assertEqual([self.sev1], list(filters.SEVFilter().filter_all(
            [self.sev1], factories.spec(rebuild=True))))
        self.assertEqual(0, self.placement.calls)

    def test_isolation_off_plain_untouched(self):
        self.assertEqual(self.hosts, self._passing(factories.spec()))
        self.assertEqual(0, self.placement.calls)

    def test_isolation_placement_down_plain_passes(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.placement.error = ks_exc.ConnectFailure('down')
        self.assertEqual(self.hosts, self._passing(factories.spec()))

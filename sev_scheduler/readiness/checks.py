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

"""Is this compute host ready for SEV guests? One function per check.

Each check returns an ``oslo_upgradecheck`` Result, as ``nova-status``
does: SUCCESS, WARNING when something will limit SEV guests, FAILURE when
they cannot run here or the host will be refused them, with the fix in the
details.
"""

from oslo_upgradecheck import upgradecheck

from nova.virt.libvirt import config as libvirt_config

Code = upgradecheck.Code
Result = upgradecheck.Result

# What a running SEV guest needs beyond its own (locked) memory: the QEMU
# process and the guest's bounce buffers. An estimate; operators can set
# their own with --per-guest-overhead-mb.
DEFAULT_PER_GUEST_OVERHEAD_MB = 256


def _sev_feature(caps):
    sev_type = libvirt_config.LibvirtConfigDomainCapsFeatureSev
    for feature in caps.features:
        if isinstance(feature, sev_type):
            return feature
    return None


def _offers_snp(caps):
    return any(
        isinstance(feature,
                   libvirt_config.LibvirtConfigDomainCapsFeatureLaunchSecurity)
        and feature.supported and 'sev-snp' in (feature.sectypes or [])
        for feature in caps.features)


def _worst(results):
    """One Result from several: the worst code, every detail."""
    code = max((result.code for result in results), default=Code.SUCCESS)
    return Result(code, '; '.join(result.details for result in results))


def check_domain_capabilities(facts, options):
    fact = facts.domain_capabilities
    if fact.error:
        return Result(Code.FAILURE, '%s; pass the output of "virsh '
                      'domcapabilities" with --domcapabilities' % fact.error)
    sev = _sev_feature(fact.value)
    if sev is None or not sev.supported:
        return Result(Code.FAILURE, (
            "libvirt reports no SEV support (no <sev supported='yes'>): "
            "enable SEV in the firmware setup, boot the kernel with "
            "mem_encrypt=on and kvm_amd.sev=1, and use a QEMU and libvirt "
            "built with SEV"))
    if not sev.max_guests and not sev.max_es_guests:
        return Result(Code.FAILURE, (
            'libvirt reports SEV with no slots (maxGuests and maxESGuests '
            'are 0): check the SEV ASID settings in the firmware setup'))
    details = 'SEV supported: maxGuests %s, maxESGuests %s' % (
        sev.max_guests, sev.max_es_guests)
    if _offers_snp(fact.value):
        details += '; SEV-SNP offered in launchSecurity'
    return Result(Code.SUCCESS, details)


def check_kernel(facts, options):
    fact = facts.kernel
    if fact.error:
        return Result(Code.FAILURE, fact.error)
    kernel = fact.value
    if not kernel['sev']:
        return Result(Code.FAILURE, (
            'kvm_amd reports sev=%s: load kvm_amd with sev=1 (kernel '
            'command line: mem_encrypt=on kvm_amd.sev=1)'
            % ('N' if kernel['sev'] is False else 'absent')))
    results = [Result(Code.SUCCESS, 'kvm_amd: %s' % ', '.join(
        '%s=%s' % (model, {True: 'Y', False: 'N', None: 'absent'}[value])
        for model, value in kernel.items()))]
    caps = facts.domain_capabilities.value
    sev = _sev_feature(caps) if caps else None
    if sev and sev.max_es_guests and not (kernel['sev_es'] or
                                          kernel['sev_snp']):
        results.append(Result(Code.WARNING, (
            'libvirt reports %d SEV-ES slots but kvm_amd sev_es is off: '
            'no SEV-ES guests; load kvm_amd with sev_es=1'
            % sev.max_es_guests)))
    if caps and _offers_snp(caps) and not kernel['sev_snp']:
        results.append(Result(Code.WARNING, (
            'libvirt offers SEV-SNP but kvm_amd sev_snp is off: no SEV-SNP '
            'guests; load kvm_amd with sev_snp=1')))
    if kernel['sev_es'] and kernel['sev_snp']:
        results.append(Result(Code.SUCCESS, (
            'with sev_snp on, Nova offers the ES slots to SEV-SNP guests '
            'and none to SEV-ES')))
    misc = facts.misc_capacity
    if misc.error:
        results.append(Result(Code.WARNING, misc.error))
    elif misc.value.get('sev') == 0:
        results.append(Result(Code.WARNING, (
            "the misc cgroup's sev capacity is 0: the kernel will start no "
            "SEV guest")))
    elif 'sev' in misc.value:
        results.append(Result(Code.SUCCESS, 'misc cgroup capacity: %s' % (
            ', '.join('%s %d' % item for item in sorted(misc.value.items())
                      if item[0].startswith('sev')))))
    return _worst(results)


def _nova_conf(facts):
    return facts.nova_conf.value.conf if facts.nova_conf.value else None


def check_ram_allocation_ratio(facts, options):
    conf = _nova_conf(facts)
    if conf is None:
        return Result(Code.FAILURE, facts.nova_conf.error)
    ratio = conf.ram_allocation_ratio
    initial = conf.initial_ram_allocation_ratio
    if ratio is not None and ratio > 1.0:
        return Result(Code.FAILURE, (
            'ram_allocation_ratio is %s: SEV and SEV-ES guests lock their '
            'memory, which cannot be overcommitted, and SEVFilter gives '
            'this host none; set [DEFAULT] ram_allocation_ratio = 1.0'
            % ratio))
    if ratio is None and initial > 1.0:
        return Result(Code.FAILURE, (
            'ram_allocation_ratio is unset and initial_ram_allocation_ratio '
            'is %s: a new compute node starts overcommitted; set [DEFAULT] '
            'ram_allocation_ratio = 1.0' % initial))
    if ratio is None:
        return Result(Code.SUCCESS, (
            'ram_allocation_ratio is unset: a new node starts at %s; an '
            'existing one keeps the ratio in Placement' % initial))
    return Result(Code.SUCCESS, 'ram_allocation_ratio is %s' % ratio)


def check_machine_type(facts, options):
    conf = _nova_conf(facts)
    if conf is None:
        return Result(Code.FAILURE, facts.nova_conf.error)
    # As nova.virt.libvirt.utils.get_default_machine_type reads it.
    machine_type = 'pc'
    for mapping in conf.libvirt.hw_machine_type or []:
        arch, _, value = mapping.partition('=')
        if arch == 'x86_64' and value:
            machine_type = value
    if 'q35' in machine_type:
        return Result(Code.SUCCESS,
                      'x86_64 guests default to %s' % machine_type)
    return Result(Code.WARNING, (
        'x86_64 guests default to %s: only images that set '
        'hw_machine_type=q35 can boot with memory encryption; set [libvirt] '
        'hw_machine_type = x86_64=q35' % machine_type))


def _slots(facts):
    """Encrypted guests this host can run at once, as Nova counts them."""
    caps, kernel = facts.domain_capabilities.value, facts.kernel.value
    sev = _sev_feature(caps) if caps else None
    if not sev or not sev.supported or not kernel or not kernel['sev']:
        return 0
    es_pool = kernel['sev_es'] or kernel['sev_snp']
    return (sev.max_guests or 0) + ((sev.max_es_guests or 0)
                                    if es_pool else 0)


def check_reserved_memory(facts, options):
    conf = _nova_conf(facts)
    if conf is None:
        return Result(Code.FAILURE, facts.nova_conf.error)
    unknown = facts.domain_capabilities.error or facts.kernel.error
    if unknown:
        return Result(Code.WARNING, 'cannot count the SEV slots to size the '
                      'reservation: %s' % unknown)
    slots = _slots(facts)
    if not slots:
        return Result(Code.SUCCESS, 'no SEV slots here: nothing to reserve')
    limit = facts.machine_slice_memory_max
    if limit.error:
        return Result(Code.WARNING, limit.error)
    if limit.value is not None:
        return Result(Code.SUCCESS, 'machine.slice is limited to %d MiB'
                      % (limit.value // 2 ** 20))
    needed = slots * options.per_guest_overhead_mb
    reserved = conf.reserved_host_memory_mb
    if reserved >= needed:
        return Result(Code.SUCCESS, (
            'reserved_host_memory_mb is %d, enough for %d encrypted guests '
            'at %d MB each' % (reserved, slots,
                               options.per_guest_overhead_mb)))
    return Result(Code.WARNING, (
        'reserved_host_memory_mb is %d but %d encrypted guests need about '
        '%d MB (%d MB each) beyond their locked memory: raise [DEFAULT] '
        'reserved_host_memory_mb, or limit the memory of machine.slice'
        % (reserved, slots, needed, options.per_guest_overhead_mb)))


def check_removed_options(facts, options):
    fact = facts.nova_conf
    if fact.error:
        return Result(Code.FAILURE, fact.error)
    if fact.value.removed:
        return Result(Code.WARNING, (
            '%s is set but Nova no longer reads it: slots come from '
            "libvirt's maxGuests and maxESGuests; remove it"
            % ', '.join(fact.value.removed)))
    return Result(Code.SUCCESS, 'no removed option set')


CHECKS = (
    ('SEV in libvirt', check_domain_capabilities),
    ('kvm_amd parameters', check_kernel),
    ('RAM allocation ratio', check_ram_allocation_ratio),
    ('Default machine type', check_machine_type),
    ('Memory for SEV guests', check_reserved_memory),
    ('Removed options', check_removed_options),
)


def run(facts, options):
    """[(check name, Result)] for every check."""
    return [(name, check(facts, options)) for name, check in CHECKS]

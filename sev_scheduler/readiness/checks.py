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

from nova import version

from sev_scheduler import compat
from sev_scheduler.readiness import slots

Code = upgradecheck.Code
Result = upgradecheck.Result

# What a running SEV guest needs beyond its own (locked) memory: the QEMU
# process and the guest's bounce buffers. An estimate; operators can set
# their own with --per-guest-overhead-mb.
DEFAULT_PER_GUEST_OVERHEAD_MB = 256

SLOT_OPTION = '[libvirt] %s' % compat.LIBVIRT_SLOT_OPTION
# Which models share what the running Nova does with them.
_ES_PLACED = compat.AMD_SEV_ES in compat.AMD_MODELS
_SNP_PLACED = compat.AMD_SEV_SNP in compat.AMD_MODELS


# How the slots check shows what Nova counts.
_NUMBER = {slots.UNLIMITED: 'unlimited', None: 'uncountable'}


def _nova():
    return 'Nova %s' % version.version_string()


def _worst(results):
    """One Result from several: the worst code, every detail."""
    code = max((result.code for result in results), default=Code.SUCCESS)
    return Result(code, '; '.join(result.details for result in results))


def _count(value):
    return 'not reported' if value is None else value


def check_domain_capabilities(facts, options):
    fact = facts.domain_capabilities
    if fact.error:
        return Result(Code.FAILURE, '%s; pass the output of "virsh '
                      'domcapabilities" with --domcapabilities' % fact.error)
    sev = fact.value
    if not sev.supported:
        return Result(Code.FAILURE, (
            "libvirt reports no SEV support (no <sev supported='yes'>): "
            "enable SEV in the firmware setup, boot the kernel with "
            "mem_encrypt=on and kvm_amd.sev=1, and use a QEMU and libvirt "
            "built with SEV"))
    if sev.max_guests == 0 and not sev.max_es_guests:
        return Result(Code.FAILURE, (
            'libvirt reports SEV with no slots (maxGuests and maxESGuests '
            'are 0): check the SEV ASID settings in the firmware setup'))
    details = 'SEV supported: maxGuests %s, maxESGuests %s' % (
        _count(sev.max_guests), _count(sev.max_es_guests))
    if sev.snp_offered and _SNP_PLACED:
        details += '; SEV-SNP offered in launchSecurity'
    elif sev.snp_offered:
        details += ('; SEV-SNP offered in launchSecurity, unused: %s places '
                    'no SEV-SNP guest before OpenStack %s' % (
                        _nova(), compat.FIRST_RELEASE[compat.AMD_SEV_SNP]))
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
    sev = facts.domain_capabilities.value
    # Since 2026.2 SEV-SNP, when on, takes the ES slots from SEV-ES.
    snp_on = _SNP_PLACED and kernel['sev_snp']
    if sev and _ES_PLACED and sev.max_es_guests and not (
            kernel['sev_es'] or snp_on):
        results.append(Result(Code.WARNING, (
            'libvirt reports %d SEV-ES slots but kvm_amd sev_es is off: '
            'no SEV-ES guests; load kvm_amd with sev_es=1'
            % sev.max_es_guests)))
    if sev and _SNP_PLACED and sev.snp_offered and not kernel['sev_snp']:
        results.append(Result(Code.WARNING, (
            'libvirt offers SEV-SNP but kvm_amd sev_snp is off: no SEV-SNP '
            'guests; load kvm_amd with sev_snp=1')))
    if sev and snp_on and not sev.snp_offered:
        results.append(Result(Code.WARNING, (
            'kvm_amd sev_snp is on but libvirt does not offer SEV-SNP (no '
            "sev-snp in <launchSecurity>): %s then counts neither SEV-SNP "
            'nor SEV-ES slots; use a QEMU and libvirt with SEV-SNP, or load '
            'kvm_amd with sev_snp=0 for SEV-ES' % _nova())))
    elif snp_on and kernel['sev_es']:
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


def _unreadable(facts):
    """Why the slots cannot be counted, or None."""
    return (facts.domain_capabilities.error or facts.kernel.error or
            facts.nova_conf.error)


def _slot_count(facts):
    """{model: slots} as the running Nova counts them on this host."""
    return slots.count(facts.domain_capabilities.value, facts.kernel.value,
                       facts.nova_conf.value.slot_option)


def _option_against_libvirt(sev, option):
    """Which of the option and libvirt's maxGuests wins, as a Result."""
    if option is None and sev.max_guests is None:
        return Result(Code.WARNING, (
            "libvirt reports no maxGuests and %s is unset: %s reports %d "
            "SEV slots, more than the host can run; set %s to the host's "
            "limit, or use libvirt 8.0 or later"
            % (SLOT_OPTION, _nova(), slots.UNLIMITED, SLOT_OPTION)))
    if option is None:
        return Result(Code.SUCCESS, "SEV slots from libvirt's maxGuests "
                      "(%s unset)" % SLOT_OPTION)
    scope = ', not SEV-ES ones' if _ES_PLACED else ''
    if sev.max_guests is None:
        return Result(Code.SUCCESS, (
            '%s = %d caps the SEV slots%s (libvirt reports no maxGuests)'
            % (SLOT_OPTION, option, scope)))
    if option > sev.max_guests:
        return Result(Code.WARNING, (
            "%s = %d exceeds libvirt's maxGuests %d: maxGuests wins and "
            "Nova logs a warning; lower the option to %d or remove it"
            % (SLOT_OPTION, option, sev.max_guests, sev.max_guests)))
    return Result(Code.SUCCESS, "%s = %d %s libvirt's maxGuests %d%s" % (
        SLOT_OPTION, option,
        'equals' if option == sev.max_guests else 'wins over',
        sev.max_guests, scope and ': it caps the SEV slots' + scope))


def check_slots(facts, options):
    unreadable = _unreadable(facts)
    if unreadable:
        return Result(Code.WARNING, 'cannot count the encryption slots: %s'
                      % unreadable)
    sev, kernel = facts.domain_capabilities.value, facts.kernel.value
    option = facts.nova_conf.value.slot_option
    count = _slot_count(facts)
    results = [Result(Code.SUCCESS, '%s reports %s' % (_nova(), ', '.join(
        '%s %s' % (model, _NUMBER.get(number, number))
        for model, number in count.items())))]
    if not slots.sev_capable(sev, kernel):
        details = ('no encryption slot: the host does not support AMD SEV '
                   '(see "SEV in libvirt" and "kvm_amd parameters")')
        if option:
            details += ('; %s = %d is ignored and Nova logs a warning'
                        % (SLOT_OPTION, option))
        return _worst(results + [Result(Code.FAILURE, details)])
    if compat.CAPS_SLOTS_BY_OPTION:
        results.append(_option_against_libvirt(sev, option))
        deprecated = compat.LIBVIRT_SLOT_OPT.deprecated_for_removal
        if option is not None and deprecated:
            results.append(Result(Code.WARNING, (
                '%s is deprecated since %s and gone in OpenStack %s, where '
                "Nova offers all of libvirt's maxGuests (%s) to SEV guests: "
                'remove it, or keep a lower cap with [sev_scheduler] '
                'max_guests_per_host on the schedulers'
                % (SLOT_OPTION, compat.LIBVIRT_SLOT_OPT.deprecated_since,
                   compat.LIBVIRT_SLOT_OPTION_REMOVED_IN,
                   _count(sev.max_guests)))))
    if None in count.values():
        return _worst(results + [Result(Code.FAILURE, (
            'libvirt reports no %s: %s cannot count the slots and fails to '
            "report this host's inventory; use libvirt 8.0 or later" % (
                ' and no '.join(name for name, value in (
                    ('maxGuests', sev.max_guests),
                    ('maxESGuests', sev.max_es_guests)) if value is None),
                _nova())))])
    if sev.max_es_guests and not _ES_PLACED:
        results.append(Result(Code.SUCCESS, (
            'maxESGuests %d unused: %s places no SEV-ES guest before '
            'OpenStack %s' % (sev.max_es_guests, _nova(),
                              compat.FIRST_RELEASE[compat.AMD_SEV_ES]))))
    if not any(count.values()):
        results.append(Result(Code.FAILURE, (
            'no encryption slot here: SEVFilter gives this host no '
            'encrypted guest')))
    return _worst(results)


def _why_unsafe(ratio):
    if ratio > 1.0:
        return ('SEV and SEV-ES guests lock their memory, which cannot be '
                'overcommitted')
    return 'not a ratio, so not known to be safe for locked memory'


def check_ram_allocation_ratio(facts, options):
    conf = _nova_conf(facts)
    if conf is None:
        return Result(Code.FAILURE, facts.nova_conf.error)
    ratio = conf.ram_allocation_ratio
    initial = conf.initial_ram_allocation_ratio
    # oslo.config refuses a negative ratio but reads "nan": not above 1.0,
    # and not known to be safe either.
    if ratio is not None and not ratio <= 1.0:
        return Result(Code.FAILURE, (
            'ram_allocation_ratio is %s: %s, and SEVFilter gives this host '
            'no SEV or SEV-ES guest; set [DEFAULT] ram_allocation_ratio = '
            '1.0' % (ratio, _why_unsafe(ratio))))
    if ratio is None and not initial <= 1.0:
        return Result(Code.FAILURE, (
            'ram_allocation_ratio is unset and initial_ram_allocation_ratio '
            'is %s: a new compute node starts %s; set [DEFAULT] '
            'ram_allocation_ratio = 1.0'
            % (initial, 'overcommitted' if initial > 1.0 else
               'with a ratio not known to be safe')))
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


def check_reserved_memory(facts, options):
    conf = _nova_conf(facts)
    if conf is None:
        return Result(Code.FAILURE, facts.nova_conf.error)
    unknown = facts.domain_capabilities.error or facts.kernel.error
    if unknown:
        return Result(Code.WARNING, 'cannot count the SEV slots to size the '
                      'reservation: %s' % unknown)
    count = _slot_count(facts)
    if None in count.values():
        return Result(Code.WARNING, 'cannot count the SEV slots to size the '
                      'reservation (see "Encryption slots")')
    total = sum(count.values())
    if not total:
        return Result(Code.SUCCESS, 'no SEV slots here: nothing to reserve')
    limit = facts.machine_slice_memory_max
    if limit.error:
        return Result(Code.WARNING, limit.error)
    if limit.value is not None:
        return Result(Code.SUCCESS, 'machine.slice is limited to %d MiB'
                      % (limit.value // 2 ** 20))
    if slots.UNLIMITED in count.values():
        return Result(Code.WARNING, (
            'cannot size the reservation: Nova counts unlimited SEV slots '
            '(see "Encryption slots"); limit the memory of machine.slice'))
    needed = total * options.per_guest_overhead_mb
    reserved = conf.reserved_host_memory_mb
    if reserved >= needed:
        return Result(Code.SUCCESS, (
            'reserved_host_memory_mb is %d, enough for %d encrypted guests '
            'at %d MB each' % (reserved, total,
                               options.per_guest_overhead_mb)))
    return Result(Code.WARNING, (
        'reserved_host_memory_mb is %d but %d encrypted guests need about '
        '%d MB (%d MB each) beyond their locked memory: raise [DEFAULT] '
        'reserved_host_memory_mb, or limit the memory of machine.slice'
        % (reserved, total, needed, options.per_guest_overhead_mb)))


def check_removed_options(facts, options):
    fact = facts.nova_conf
    if fact.error:
        return Result(Code.FAILURE, fact.error)
    if fact.value.removed:
        return Result(Code.WARNING, (
            '%s is set but %s no longer reads it (removed in OpenStack '
            "%s): slots come from libvirt's maxGuests and maxESGuests; "
            'remove it, or keep a lower cap with [sev_scheduler] '
            'max_guests_per_host on the schedulers' % (
                ', '.join(fact.value.removed), _nova(),
                compat.LIBVIRT_SLOT_OPTION_REMOVED_IN)))
    return Result(Code.SUCCESS, 'no removed option set')


CHECKS = (
    ('SEV in libvirt', check_domain_capabilities),
    ('kvm_amd parameters', check_kernel),
    ('Encryption slots', check_slots),
    ('RAM allocation ratio', check_ram_allocation_ratio),
    ('Default machine type', check_machine_type),
    ('Memory for SEV guests', check_reserved_memory),
    ('Removed options', check_removed_options),
)


def run(facts, options):
    """[(check name, Result)] for every check."""
    return [(name, check(facts, options)) for name, check in CHECKS]

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

"""Encryption slots per model, counted as the running Nova counts them.

Nova's libvirt driver reports the ``MEM_ENCRYPTION_CONTEXT`` inventory of a
host (``_get_memory_encrypted_slots`` in 2025.1, one pool for AMD SEV;
``_get_memory_encryption_inventories`` since, one per model) from
``Host.supports_amd_sev*`` and libvirt's ``maxGuests`` / ``maxESGuests``.
The same rules, from the facts check-host reads:

- no slot of any model unless the host supports AMD SEV:
  ``<sev supported='yes'>`` and kvm_amd ``sev`` on;
- AMD SEV: ``maxGuests``. Where ``[libvirt] num_memory_encrypted_guests``
  exists (before 2026.2), the smaller of the two;
- AMD SEV-ES, where Nova places it (since 2025.2): ``maxESGuests`` with
  kvm_amd ``sev_es`` on; where Nova places SEV-SNP too (since 2026.2), none
  when kvm_amd ``sev_snp`` is on;
- AMD SEV-SNP (since 2026.2): ``maxESGuests`` again, with kvm_amd
  ``sev_snp`` on and ``sev-snp`` in libvirt's ``<launchSecurity>``;
- a count libvirt does not give (before libvirt 8.0): where the option
  exists, the driver makes it the option or an effectively unlimited number
  for SEV, 0 for SEV-ES; since it is gone, it passes the missing count on
  and fails to report the host's inventory (None here).

Nova also needs a QEMU recent enough for SEV-ES, which the domain
capabilities do not tell.
"""

from nova.db import constants as db_constants

from sev_scheduler import compat

#: What Nova reports when nothing limits the SEV slots.
UNLIMITED = db_constants.MAX_INT


def sev_capable(sev, kernel):
    """Nova's ``Host.supports_amd_sev``."""
    return bool(sev.supported and kernel['sev'])


def count(sev, kernel, option):
    """{model: slots} for each AMD model the running Nova places.

    A model's slots are None where Nova cannot count them (and fails).

    :param sev: the host's ``facts.SevCapabilities``.
    :param kernel: kvm_amd's parameters, ``facts.kernel_parameters``.
    :param option: ``[libvirt] num_memory_encrypted_guests``, None when
        unset or gone.
    """
    slots = dict.fromkeys(compat.AMD_MODELS, 0)
    if not sev_capable(sev, kernel):
        return slots
    if compat.CAPS_SLOTS_BY_OPTION:
        sev_slots = UNLIMITED if sev.max_guests is None else sev.max_guests
        if option is not None:
            sev_slots = min(sev_slots, option)
        es_slots = sev.max_es_guests or 0
    else:
        sev_slots, es_slots = sev.max_guests, sev.max_es_guests
    slots[compat.AMD_SEV] = sev_slots
    snp_placed = compat.AMD_SEV_SNP in slots
    if compat.AMD_SEV_ES in slots and kernel['sev_es'] and not (
            snp_placed and kernel['sev_snp']):
        slots[compat.AMD_SEV_ES] = es_slots
    if snp_placed and kernel['sev_snp'] and sev.snp_offered:
        slots[compat.AMD_SEV_SNP] = es_slots
    return slots

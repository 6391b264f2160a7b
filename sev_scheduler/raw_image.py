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

"""A request's image properties as the user wrote them.

The RequestSpec's ImageMeta holds only the properties the running Nova
knows (2025.1 drops ``hw_mem_encryption_model``). Nova keeps every property
of the image an instance was built from in its system metadata
(``image_<name>``): in the BuildRequest for a new server, in the cell
database for a move. A rebuild's new image is not there yet: it is read
from the image service, as the compute will.

An offloaded server being unshelved is spawned from its shelved snapshot
(``system_metadata['shelved_image_id']``) with the snapshot's properties
as they are now, not as the RequestSpec stored them: that image is read
from the image service too, the one image lookup of an unshelve.
"""

import dataclasses

from nova.compute import task_states
from nova.compute import vm_states
from nova.image import glance
from nova import utils

from sev_scheduler import block_devices


@dataclasses.dataclass(frozen=True)
class RawImage:
    """The image an instance will run, as written."""

    #: Its properties as the user wrote them.
    properties: dict
    #: On the unshelve of an offloaded server, the shelved snapshot as the
    #: image service returns it now (the compute spawns from it); None on
    #: any other request.
    unshelve_image: dict | None = None


def is_unshelve(instance):
    """Whether the instance is an offloaded server being unshelved.

    The API sets UNSHELVING before it casts to the conductor, which asks
    the scheduler; a server shelved but not offloaded is started where it
    is, without the scheduler.
    """
    return (instance.vm_state == vm_states.SHELVED_OFFLOADED and
            instance.task_state == task_states.UNSHELVING)


def read(context, spec_obj, is_rebuild, stored=None):
    """The RawImage of the image the instance runs (or will run).

    :param stored: the request's ``block_devices.Stored``, when the caller
        reads its mappings from there too.
    """
    if is_rebuild:
        return RawImage(
            glance.API().get(context, spec_obj.image.id)['properties'])
    stored = stored or block_devices.Stored(context, spec_obj)
    instance = stored.instance()
    # A volume-backed server is shelved without a snapshot.
    shelved_image_id = instance.system_metadata.get('shelved_image_id')
    if shelved_image_id and is_unshelve(instance):
        image = glance.API().get(context, shelved_image_id)
        return RawImage(image.get('properties', {}), unshelve_image=image)
    return RawImage(utils.get_image_from_system_metadata(
        instance.system_metadata)['properties'])

"""人材 as JSON: the advisory batch's assignment (CLI ``--json`` and the API's response model)."""

from __future__ import annotations

from pydantic import BaseModel

from matcher.services.people import AdvisorAssignment
from matcher.store.tables import Person, split_list
from matcher.views.shortlists import CandidateOut, NeedOut, PersonOut, candidate_out, need_out, person_out


class NeedAssignmentOut(BaseModel):
    need: NeedOut
    advisors: list[CandidateOut]
    unfilled: str | None = None  # why fewer than k advisors
    displaced: list[str] = []  # 人材ID in its own top k who went to needs where they fit better


class PersonLoadOut(BaseModel):
    person: PersonOut
    engagements: int
    capacity: int
    hours_assigned: int
    hours_available: int | None


class AssignmentOut(BaseModel):
    run_id: str
    status: str
    k: int
    hours_per_engagement: int
    min_score: float
    total_score: float
    seconds: float
    assigned: int
    hours_assigned: int
    needs: list[NeedAssignmentOut]
    people: list[PersonLoadOut]


class PersonRecordOut(BaseModel):
    """A registry row as coordinators see it (staff only: 氏名 is personal data; the e-mail address
    is never shown)."""

    id: int
    external_id: str
    name: str
    category: str
    specialities: list[str]
    hours_per_month: int | None
    contact_mode: str
    city: str | None
    consent: bool
    publish: bool


class PersonListOut(BaseModel):
    total: int
    items: list[PersonRecordOut]


def person_list_out(total: int, rows: list[Person]) -> PersonListOut:
    return PersonListOut(total=total, items=[
        PersonRecordOut(id=p.id, external_id=p.external_id, name=p.name, category=p.category,
                        specialities=split_list(p.specialities), hours_per_month=p.hours_per_month,
                        contact_mode=p.contact_mode, city=p.city, consent=p.consent, publish=p.publish)
        for p in rows])


def assignment_out(a: AdvisorAssignment) -> AssignmentOut:
    ext = {load.person.id: load.person.external_id for load in a.loads}
    needs = [NeedAssignmentOut(need=need_out(sl.query), advisors=[candidate_out(e) for e in sl.candidates],
                               unfilled=a.unfilled.get(sl.query.id),
                               displaced=[ext.get(p, str(p)) for p in a.displaced.get(sl.query.id, [])])
             for sl in a.shortlists]
    people = [PersonLoadOut(person=person_out(load.person), engagements=load.engagements, capacity=load.capacity,
                            hours_assigned=load.hours_assigned, hours_available=load.hours_available)
              for load in a.loads]
    return AssignmentOut(run_id=a.run_id, status=a.status, k=a.k, hours_per_engagement=a.hours_per_engagement,
                         min_score=a.min_score, total_score=a.total_score, seconds=round(a.seconds, 3),
                         assigned=sum(len(n.advisors) for n in needs),
                         hours_assigned=sum(p.hours_assigned for p in people), needs=needs, people=people)


__all__ = ["AssignmentOut", "NeedAssignmentOut", "PersonListOut", "PersonLoadOut", "PersonRecordOut", "assignment_out",
           "person_list_out"]

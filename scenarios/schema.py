"""The scenario schema (pydantic): every parameter with its unit, range and meaning.

Units are carried in each field's metadata (``unit``) so that the manifest and the docs can
print them; sources are written beside each value in the TOML files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import Strict as StrictMode

from scenarios.country import OPERATOR_KEYS

SECTORS_WAVE1 = ("hospital", "gp", "biology", "radiology", "pharmacy")
SECTORS_WAVE2 = ("nurse", "midwife", "dentist", "physio", "medico_social")
ALL_SECTORS = SECTORS_WAVE1 + SECTORS_WAVE2

# Numbers are strict (no `true` for 1, no "0.5" for 0.5) and finite (no inf, no nan); dates
# stay lax so that overrides and manifests may give them as "YYYY-MM-DD".
Date = Annotated[dt.date, StrictMode(False)]
MAX_INT = 2**53  # integers beyond this cannot be drawn or counted exactly (float64, int64 sums)
MAX_DAYS = 36_500  # durations in days: a century is already far beyond any run
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
PositiveDays = Annotated[int, Field(ge=1, le=MAX_DAYS)]
Count = Annotated[int, Field(gt=0, le=MAX_INT)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]
Factor = Annotated[float, Field(ge=0.0, le=100.0)]  # activity factors: a hundredfold is already absurd
PerEpisode = Annotated[float, Field(ge=0.0, le=1000.0)]


def unit(u: str, description: str, **kw) -> object:
    """A pydantic Field carrying its unit in the schema metadata."""
    return Field(description=description, json_schema_extra={"unit": u}, **kw)


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are validated on assignment too, numbers
    are strict and finite, and every ``…start`` date comes no later than its ``…end`` (and
    the pairs a model lists in ``date_order``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)
    date_order: ClassVar[tuple[tuple[str, str], ...]] = ()

    @model_validator(mode="after")
    def _dates_in_order(self) -> Strict:
        dates = {k: v for k, v in self.__dict__.items() if isinstance(v, dt.date)}
        pairs = [(k, k[: -len("start")] + "end") for k in dates if k.endswith("start")]
        for first, then in [*pairs, *self.date_order]:
            a, b = dates.get(first), dates.get(then)
            if a is not None and b is not None and b < a:
                raise ValueError(f"{then} ({b}) is before {first} ({a}); {then} must not come before {first}")
        return self


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """A scenario name names its results folder: a short slug, never a path."""
    if not NAME_PATTERN.match(name) or name.endswith("."):
        raise ValueError(f"must be a short name of letters, digits, '_', '-' and '.', starting with a letter or digit "
                         f"(at most 64 characters; it names the results folder) (got {name!r})")
    return name


class RunConfig(Strict):
    start: Date = unit("date", "first simulated day")
    end: Date = unit("date", "last simulated day")
    scale: float = unit("ratio", "simulated agents per real agent (1.0 = all of France)", gt=0, le=1)
    seed: int = unit("integer", "seed of the run's random streams", ge=0, le=2**63 - 1)
    min_facilities: int = unit("facilities", "simulate at least this many facilities per sector (all of them if fewer), each weighted so that national volumes are unchanged: small sectors are not a handful of agents at small scales (0 = exactly one facility per 1/scale; GPs always are)", default=500, ge=0, le=10_000_000)
    departements: list[str] = unit("INSEE codes", "départements simulated (empty = all of France); population.size and sectors.*.facilities are then those of these départements (a small territory, e.g. the demo)", default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> RunConfig:  # replaces the generic check: the run needs a day at least
        if self.end <= self.start:
            raise ValueError(f"run.end must be after run.start (got {self.start} → {self.end})")
        return self


class PopulationConfig(Strict):
    size: Count = unit("persons", "population of France")
    nir_share: Probability = unit("share", "persons whose INS matricule is their own NIR")
    nia_share: Probability = unit("share", "persons with a temporary NIA (born abroad, awaiting registration)")
    gp_registered_share: Probability = unit("share", "persons with a declared médecin traitant")
    insi_found: Probability = unit("share", "INSi answer 00 (one identity found) at a person's first lookup")
    insi_several: Probability = unit("share", "INSi answer 02 (several identities found) at a person's first lookup; the rest answer 01 (none found) — both are retried (see [identity])")

    @model_validator(mode="after")
    def _sums(self) -> PopulationConfig:
        if self.nir_share + self.nia_share > 1:
            raise ValueError("population.nir_share + population.nia_share must be at most 1")
        if self.insi_found + self.insi_several > 1:
            raise ValueError("population.insi_found + population.insi_several must be at most 1")
        return self


class ActivationCampaign(Strict):
    """A national communication campaign: the activation rate is multiplied while it lasts."""

    start: Date = unit("date", "first day of the campaign")
    end: Date = unit("date", "last day of the campaign")
    activation_factor: Factor = unit("factor", "multiplier of profiles.activation_rate while the campaign lasts")
    label: str = unit("text", "what it stands for (and its source)", default="")


class ProfilesConfig(Strict):
    date_order = (("letters_end", "late_end"),)

    legacy_dmp_share: Probability = unit("share", "persons who had a DMP before Mon espace santé (migrated)")
    letters_start: Date = unit("date", "first information letters of the opt-out creation")
    letters_end: Date = unit("date", "last information letters of the main wave")
    late_share: Probability = unit("share", "persons informed later (newly covered, unreachable at first), letters spread until late_end")
    late_end: Date = unit("date", "last late information letters")
    creation_delay_days: Days = unit("days", "delay between the letter and the automatic creation")
    opposition_rate: Probability = unit("share", "informed persons who oppose creation")
    activated_share_at_launch: Probability = unit("share", "profiles activated in the first weeks (legacy DMP users, early adopters)")
    activation_rate: Probability = unit("1/month", "monthly share of open, not yet activated profiles that get activated")
    closure_rate: Probability = unit("1/month", "monthly share of profiles that get closed (a late opposition)")
    reactivation_rate: Probability = unit("1/month", "monthly share of closed profiles reopened by their holder (reopened = activated)", default=0.0)
    death_rate: Probability = unit("1/year", "yearly share of the population that dies: the profile closes, and a birth takes the person's place (the population stays the same size); newborns get a profile at birth from letters_start on (or their parents oppose, at opposition_rate)", default=0.0)
    campaigns: list[ActivationCampaign] = unit("list", "national activation campaigns: dated multipliers of activation_rate", default_factory=list)
    activation_per_document: Probability = unit("share", "chance that a document the DMP accepts moves its patient, whose profile is open and not yet activated, to activate it the next day (the new document's notice), on top of activation_rate; 0 = no such activations", default=0.0)
    existence_check: bool = unit("switch", "the producers' software checks that the patient has an open profile before sending a document; documents of patients without one are 'not_sent' (false: every document is sent, and the DMP rejects it for its profile)", default=True)


class DmpConfig(Strict):
    capacity_per_day: PositiveFloat = unit("documents/day", "national submissions the DMP can process in a day", le=1e12)
    max_wait_days: Days | None = unit("days", "how long a submission waits in the outbox while the DMP is down or saturated before it is dropped (none = never dropped)", default=None)


class MssanteConfig(Strict):
    same_day_delivery: Probability = unit("share", "messages delivered the day they are sent (the rest take 1–3 days)")
    bounce_rate: Probability = unit("share", "messages bounced (unknown or closed mailbox)")
    max_wait_days: Days | None = unit("days", "how long messages wait while MSSanté is down before bouncing (none = never)", default=None)
    patient_messages_per_activated: NonNegFloat = unit("messages/activated profile/month", "messages patients write from their Mon espace santé mailbox to a professional who has a mailbox (replies, a prescription to a pharmacy), per activated profile", default=0.0, le=1000.0)
    patient_messages_start: Date | None = unit("date", "first day patients can write from Mon espace santé (none = from the start of the run)", default=None)
    patient_recipients: dict[str, Probability] = unit("share", "per recipient sector, share of the patients' messages written to its professionals (reached when the recipient has a mailbox)", default_factory=dict)


class CampaignConfig(Strict):
    """A campaign as a direct curve: the share done follows a logistic from ``start`` (the
    e-prescription and wave 2 software campaigns)."""

    date_order = (("start", "mid"),)

    start: Date = unit("date", "first installations of the Ségur update")
    mid: Date = unit("date", "date at which half of the eventual installations are done")
    width_days: PositiveFloat = unit("days", "logistic scale of the campaign (≈ a quarter of the 12%–88% span)", le=MAX_DAYS)
    final_share: Probability = unit("share", "share of facilities that eventually install the update")


class InstallConfig(Strict):
    """Deployment campaign, in one of two forms. A direct curve: the installed share follows a
    logistic from ``start`` (``mid``, ``width_days``, ``final_share``; e-prescription and wave 2
    software use it). Orders then installs (``order_share`` …; agents/producers/equipment.py):
    a share of facilities order the update on a logistic campaign, each installs it a delay
    after its order, and the programme's install rates are installed / ordered."""

    date_order = (("start", "mid"), ("order_start", "order_mid"))
    DIRECT: ClassVar[tuple[str, ...]] = ("mid", "width_days", "final_share")
    ORDERS: ClassVar[tuple[str, ...]] = ("order_start", "order_mid", "order_width_days", "install_delay_days",
                                         "installed_of_ordered")

    start: Date = unit("date", "first installations of the Ségur update")
    mid: Date | None = unit("date", "direct curve: date at which half of the eventual installations are done", default=None)
    width_days: PositiveFloat | None = unit("days", "direct curve: logistic scale of the campaign (≈ a quarter of the 12%–88% span)", default=None, le=MAX_DAYS)
    final_share: Probability | None = unit("share", "direct curve: share of facilities that eventually install the update", default=None)
    order_share: Probability | None = unit("share", "orders: share of facilities that order the update (the others never do)", default=None)
    order_start: Date | None = unit("date", "orders: first orders (opening of the funding window)", default=None)
    order_mid: Date | None = unit("date", "orders: date at which half of the eventual orders are placed", default=None)
    order_width_days: PositiveFloat | None = unit("days", "orders: logistic scale of the ordering campaign", default=None, le=MAX_DAYS)
    order_end: Date | None = unit("date", "orders: the funding window closes: orders that would come later are never placed (none = open-ended)", default=None)
    order_size_correlation: float = unit("correlation", "orders: rank correlation between a facility's size and its eagerness to order (> 0: large facilities order first and more often)", default=0.0, ge=-1.0, le=1.0)
    install_delay_days: NonNegFloat | None = unit("days", "orders: mean delay from order to installation (exponential)", default=None, le=MAX_DAYS)
    installed_of_ordered: Probability | None = unit("share", "orders: ordering facilities that install the update at all (the others' orders lapse)", default=None)
    deadline: Date | None = unit("date", "orders: the campaign's installation deadline (funding paid for installs by then); none = no deadline", default=None)
    deadline_compliance: Probability = unit("share", "orders: facilities ordered by the deadline whose installation would fall after it, that install in the last deadline_rush_days instead", default=0.0)
    deadline_rush_days: Days = unit("days", "orders: length of the rush before the deadline", default=60)
    order_per_keuro: NonNegFloat = unit("1/(k€/facility)", "orders: response to a funding intervention: a share 1 − exp(−order_per_keuro × k€ per facility) of the facilities that have not ordered yet order in its window", default=0.0, le=1000)

    @model_validator(mode="after")
    def _one_form(self) -> InstallConfig:
        if self.order_share is None:
            missing = [k for k in self.DIRECT if getattr(self, k) is None]
            if missing:
                raise ValueError(f"give {', '.join(missing)} (a direct install curve), or order_share with "
                                 f"{', '.join(self.ORDERS)} (orders then installs)")
            return self
        given = [k for k in self.DIRECT if getattr(self, k) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} belong to a direct install curve; with order_share the campaign is "
                             f"orders then installs ({', '.join(self.ORDERS)}): remove {', '.join(given)}")
        missing = [k for k in self.ORDERS if getattr(self, k) is None]
        if missing:
            raise ValueError(f"with order_share, give {', '.join(missing)} too")
        return self

    @property
    def orders(self) -> bool:
        """Whether the campaign is given as orders then installs."""
        return self.order_share is not None


class QualificationConfig(Strict):
    """The sector's identity practice: share of its facilities that look identities up through
    INSi and check an ID document (a logistic ramp). A facility without it sends every
    document unqualified, even for a patient qualified elsewhere (simulator/engine/identity.py)."""

    start_share: Probability = unit("share", "facilities whose identity practice qualifies identities at the start of the run")
    end_share: Probability = unit("share", "facilities whose identity practice qualifies identities, the share the sector tends to")
    mid: Date = unit("date", "midpoint of the ramp")
    width_days: PositiveFloat = unit("days", "logistic scale of the ramp", le=MAX_DAYS)


class OtherMailboxHolders(Strict):
    """Professionals of a sector's kind who hold personal MSSanté mailboxes and write letters, but
    whose own documents the run does not simulate (office specialists beside the GPs). Their
    mailboxes and letters are booked under the sector (agents/services/mailboxes.py)."""

    professionals: Count = unit("persons", "professionals of the group in France (national count, not scaled)")
    initial_share: Probability = unit("share", "of them, the share with a personal mailbox at the start of the run")
    final_share: Probability = unit("share", "share of them the personal mailboxes tend to")
    growth: NonNegFloat = unit("1/year", "yearly rate at which the gap between the mailboxes open and the final share closes, from the start of the run", le=100.0)
    messages_per_month: NonNegFloat = unit("messages/personal mailbox/month", "letters each of their mailboxes sends to professionals (booked as type 11488-4)", le=100_000)

    @model_validator(mode="after")
    def _shares_grow(self) -> OtherMailboxHolders:
        if self.final_share < self.initial_share:
            raise ValueError(f"final_share must be at least initial_share ({self.initial_share})")
        return self


class MssanteUse(Strict):
    mailbox_initial_share: Probability = unit("share", "facilities with an MSSanté mailbox at the start of the run")
    mailbox_after_install: Probability = unit("share", "facilities without one that get a mailbox with the Ségur update")
    to_professional_legacy: Probability = unit("share", "documents also sent by MSSanté to the recipient professional, before the update")
    to_professional: Probability = unit("share", "documents also sent by MSSanté to the recipient professional, once updated (the larger of this and to_professional_legacy: the update adds sending from the software, it takes none away)")
    to_patient: Probability = unit("share", "documents also sent to the patient's Mon espace santé mailbox, once updated (reaches patients with an INS and an activated profile)")
    recipient: Literal["gp", "hospital", "pharmacy", "none"] = unit("sector", "sector of the usual recipient (gp = the patient's médecin traitant)")
    operators: dict[str, Probability] = unit("share", "share of the sector's senders per MSSanté operator (default: the "
                                             "country's, scenarios/data/<country>.toml)", default_factory=dict)
    professionals_per_facility: NonNegFloat = unit("persons/facility", "professionals who may hold a personal MSSanté mailbox, per facility of average size (spread by size)", default=1.0, le=100_000)
    personal_initial_share: Probability = unit("share", "of those professionals, the share with a personal mailbox when the facility's first mailbox opens", default=1.0)
    personal_final_share: Probability = unit("share", "share of those professionals the personal mailboxes tend to", default=1.0)
    personal_growth: NonNegFloat = unit("1/year", "yearly rate at which the gap between the personal mailboxes open and the final share closes, from the facility's first mailbox", default=0.0, le=100.0)

    @field_validator("operators")
    @classmethod
    def _operator_shares(cls, ops: dict[str, float]) -> dict[str, float]:
        if ops and (set(ops) - set(OPERATOR_KEYS) or abs(sum(ops.values()) - 1.0) > 1e-6):  # none: the country's
            raise ValueError(f"shares of operators among {', '.join(OPERATOR_KEYS)} adding up to 1 (got {ops})")
        return ops

    @field_validator("personal_final_share")
    @classmethod
    def _personal_share_grows(cls, final: float, info: ValidationInfo) -> float:
        initial = info.data.get("personal_initial_share")
        if initial is not None and final < initial:
            raise ValueError(f"must be at least personal_initial_share ({initial})")
        return final
    organisational_per_facility: NonNegFloat = unit("mailboxes/facility", "organisational mailboxes (a service, a secretariat, the officine) of a facility once its first mailbox opens", default=0.0, le=10_000)
    applicative_per_facility: NonNegFloat = unit("mailboxes/facility", "applicative mailboxes (the software that sends the reports) of a facility with a mailbox, opened with the Ségur update", default=0.0, le=10_000)
    personal_messages_per_month: NonNegFloat = unit("messages/personal mailbox/month", "messages a personal mailbox sends to professionals beyond the catalogued documents (letters, referrals, replies)", default=0.0, le=100_000)
    other_professionals: dict[str, OtherMailboxHolders] = unit(
        "group", "mailbox holders of the sector whose own documents are not simulated, by group name "
        "(e.g. office_specialists under gp)", default_factory=dict)


class LearningConfig(Strict):
    """Intensity that grows (docs/mechanisms.md): a feeding facility's share of eligible documents
    sent goes from its start level (``intensity_mean`` on average) to its habit level
    (``final_mean`` on average), the gap halving every ``half_life_days`` of feeding experience;
    experience accrues ``1 + peer_weight × (share of the sector feeding)`` days a day. The share of
    type k sent is ``ceilings[k]`` (default ``ceiling``) × the facility's level."""

    final_mean: Probability = unit("share", "mean level a feeding facility tends to once its habit is established (before the type ceilings)")
    half_life_days: PositiveFloat = unit("days", "days of feeding experience in which the gap between start and habit levels halves", le=MAX_DAYS)
    peer_weight: NonNegFloat = unit("factor", "experience accrues (1 + peer_weight × share of the sector's facilities feeding) days a day", le=100.0)
    ceiling: Probability = unit("share", "share of each document type's eligible documents a facility at full habit sends (types not in ceilings)", default=1.0)
    ceilings: dict[str, Probability] = unit("share", "per LOINC type of the sector's documents, its own ceiling", default_factory=dict)


class ActivityFlowConfig(Strict):
    """An activity of a sector beyond its own episodes, with its own yearly base and documents
    (a mechanism, docs/mechanisms.md "Activity flows"): drawn for the sector's feeding
    facilities at their level × ``level_factor``, on a stream of its own, so that switching it off
    removes exactly its documents."""

    enabled: bool = unit("switch", "whether the flow's documents are drawn (false: the mechanism is off)", default=True)
    label: str = unit("text", "what the flow is, in tables")
    episodes_per_year: PositiveFloat = unit("episodes/year", "the flow's national activity a year (scenarios/data/activity.csv)", le=1e11)
    documents: dict[str, PerEpisode] = unit("documents/episode", "documents of each LOINC type per episode of the flow")
    level_factor: Factor = unit("factor", "the flow's documents are sent at the facility's level (learning) × this factor, at most 1, × the sector's type ceilings", default=1.0)
    weekly: list[Factor] | None = unit("factor", "activity factor Monday…Sunday (none: the sector's)", default=None, min_length=7, max_length=7)
    seasonal: list[Factor] | None = unit("factor", "activity factor January…December (none: the sector's)", default=None, min_length=12, max_length=12)
    start: Date | None = unit("date", "no document of the flow before this date (none: from the run's start)", default=None)


class SectorConfig(Strict):
    """One producer sector: counts, activity, documents, adoption levers."""

    label: str = unit("text", "name of the sector in tables and figures")
    model: str | None = unit("module", "producer module the sector uses, registered by name in agents/producers "
                             "(default: the module registered under the sector's own name)", default=None)
    wave: int = unit("wave", "Ségur wave the sector belongs to (1 or 2)", ge=1, le=2)
    facilities: Count = unit("facilities", "producers in France (establishments, practices, labs…)")
    size_sigma: NonNegFloat = unit("log-sd", "heterogeneity of facility size (lognormal σ of activity)", le=5.0)
    episodes_per_day: PositiveFloat = unit("episodes/facility/day", "episodes of care on a full working day, average facility", le=100_000)
    weekly: list[Factor] = unit("factor", "activity factor Monday…Sunday", min_length=7, max_length=7)
    seasonal: list[Factor] = unit("factor", "activity factor January…December (the August dip)", min_length=12, max_length=12)
    holiday: Factor = unit("factor", "activity factor on public holidays (at most)")
    documents: dict[str, PerEpisode] = unit("documents/episode", "documents of each LOINC type per episode")
    install: InstallConfig
    legacy_feeding_share: Probability = unit("share", "facilities feeding the DMP with pre-Ségur software at the start")
    uptake_p: Probability = unit("1/day", "Bass innovation hazard: daily chance an equipped facility starts feeding")
    uptake_q: Probability = unit("1/day", "Bass imitation hazard, multiplied by the share already feeding")
    intensity_mean: Probability = unit("share", "mean share of eligible documents a feeding facility sends (with a learning section: its level when it starts feeding, before the type ceilings)")
    intensity_concentration: PositiveFloat = unit("a+b", "Beta concentration of intensity across facilities (low = heterogeneous)", le=1e6)
    learning: LearningConfig | None = unit("section", "intensity that grows with feeding experience toward per-type ceilings (none: intensity stays at intensity_mean)", default=None)
    qualification: QualificationConfig
    mssante: MssanteUse
    vendors: dict[str, Probability] = unit("market share", "software vendors of the sector and their shares")
    defects: dict[str, dict[str, Probability]] = unit("share", "per vendor ('*' = all), per defect kind, share of documents carrying that defect", default_factory=dict)
    flows: dict[str, ActivityFlowConfig] = unit("section", "activities of the sector beyond its episodes, each with its own base and documents (docs/mechanisms.md, 'Activity flows')", default_factory=dict)
    wave1_install: InstallConfig | None = unit("section", "wave 2 sectors only: an earlier campaign of Ségur-referenced software installed before the sector's wave 2 launch and not moved by it (the médico-social wave 1 DUI, docs/mechanisms.md); equipment only: feeding waits for the launch (none: the sector starts from zero)", default=None)

    @model_validator(mode="after")
    def _wave1_install_of_wave2(self) -> SectorConfig:
        if self.wave1_install is not None:
            if self.wave != 2:
                raise ValueError("wave1_install: only a wave 2 sector has an installed base before its launch; remove it or set wave = 2")
            if not self.wave1_install.orders:
                raise ValueError("wave1_install: give the campaign as orders then installs (order_share, order_start, …)")
        return self

    @field_validator("vendors")
    @classmethod
    def _vendor_shares(cls, vendors: dict[str, float]) -> dict[str, float]:
        if vendors and abs(sum(vendors.values()) - 1.0) > 1e-6:
            raise ValueError("shares must add up to 1")
        return vendors


TARGET_CHANNELS = ("dmp", "mssante_pro", "mssante_patient", "mssante")
class IdentityConfig(Strict):
    """Identity qualification per person (domain §3): INSi lookups at a facility whose identity
    practice qualifies, 01 / 02 answers retried, then the ID check; qualified for good."""

    initial_qualified_share: Probability = unit("share", "persons whose INSi answer is 00 already qualified when the run starts (a world that starts after 2021)", default=0.0)
    id_check_share: Probability = unit("share", "visits, to a facility that qualifies, at which a retrieved identity (INSi 00, RECUP) is checked against a high-trust ID document (→ QUAL)", default=0.8)
    retry_days: PositiveDays = unit("days", "an identity INSi answered 01 or 02 for is looked up again at the patient's first visit this many days later", default=30)
    resolve_01: Probability = unit("share", "retries that resolve an 01 answer (the patient's documents correct the traits; the identity is then qualified)", default=0.5)
    resolve_02: Probability = unit("share", "retries that resolve an 02 answer (a manual identity check picks the identity; it is then qualified)", default=0.6)
    new_to_facility_share: Probability = unit("share", "documents written for a patient the facility sees for the first time: it must retrieve the INS through INSi even for a qualified identity, so while INSi is down they go unqualified", default=0.25)
    backlog_days: PositiveDays = unit("days", "after an INSi outage, days over which facilities look up again the identities they could not look up during it", default=7)


class TargetConfig(Strict):
    value: PositiveFloat = unit("documents/year", "annual documents the programme aims at", le=1e15)
    sectors: list[str] | Literal["wave1", "wave2"] = unit("sector", "sectors whose documents count towards it: their names, or \"wave1\" / \"wave2\" for every sector of that wave in the scenario (a sector added to the wave joins it)")
    doc_types: list[str] = unit("LOINC code", "document types that count towards it (empty = every type)", default_factory=list)
    channel: Literal["dmp", "mssante_pro", "mssante_patient", "mssante"] = unit("channel", "where documents count: dmp (accepted by the DMP), mssante_pro / mssante_patient (messages delivered to professionals / patients), mssante (both)", default="dmp")
    start: Date | None = unit("date", "the target applies from this month: no earlier month can reach it (none = from the run's start)", default=None)
    key_document: str = unit("text", "the document the programme names for this target", default="")
    assumption: bool = unit("flag", "true when the figure is a modelling assumption, not a published target", default=False)
    source: str = unit("text", "where the figure comes from", default="")

    @field_validator("sectors", mode="before")
    @classmethod
    def _names_or_a_wave(cls, value: Any) -> Any:
        if not isinstance(value, list) and value not in ("wave1", "wave2"):
            raise ValueError(f'must be a list of sector names, or "wave1" / "wave2" (every sector of that wave) (got {value!r:.40})')
        return value


class EprescriptionConfig(Strict):
    """E-prescription (domain §7): every GP's prescriptions, registered in the national base
    once its software is authorised and the GP has started (whether or not it feeds the DMP),
    each dispensable once within its validity; the mandate (``mandate_date``, or the rule
    ``eprescription_mandatory``) raises uptake and use from its date."""

    software: CampaignConfig = unit("campaign", "per GP, the day its prescription software (LAP) is authorised for e-prescription: the share of GPs whose software is authorised, by date")
    prescribers: CampaignConfig = unit("campaign", "per GP, the day it would start e-prescribing on its own (it starts on the later of this day and its software's authorisation)")
    per_consultation: PositiveFloat = unit("prescriptions/consultation", "prescriptions a GP writes per consultation (consultations: the gp sector's episodes_per_day × size × rhythm)", le=10)
    use_share: Probability = unit("share", "share of its prescriptions an e-prescribing GP registers in the base before the mandate")
    mandate_date: Date | None = unit("date", "the e-prescription becomes mandatory (lever; none: no mandate); the rule eprescription_mandatory, if present, acts the same from its own date", default=None)
    mandate_use_share: Probability = unit("share", "share of its prescriptions a complying GP registers from the mandate on")
    pharmacies: CampaignConfig = unit("campaign", "per pharmacy, the day its software starts dispensing through the base (LGO approved, QR code scanned)")
    mandatory_prescriber_compliance: Probability = unit("share", "GPs who comply with the mandate: from its date (or their software's authorisation, if later) they e-prescribe, at mandate_use_share")
    mandatory_pharmacy_compliance: Probability = unit("share", "pharmacies not yet scanning who start on the mandate date")
    presented_share: Probability = unit("share", "registered prescriptions the patient presents at a pharmacy")
    presentation_hazard: Probability = unit("1/day", "daily chance that a prescription still to be presented is presented")
    duplicate_share: Probability = unit("share", "dispensations followed by a second scan of the same QR code (rejected: already dispensed)")
    unknown_share: Probability = unit("share", "scans per dispensation whose code matches no prescription (mistyped, forged: rejected)")
    validity_days: Days = unit("days", "a prescription can be dispensed this long after it is written, then it expires and leaves the base", ge=1)
    dmp_copy_is_document: bool = unit("switch", "the DMP copy of each registered e-prescription is the prescription document (57833-6) of its GP, deposited the next day, whether or not the GP feeds otherwise; an e-prescribing GP's own draw then has no 57833-6 (mechanism 2, docs/mechanisms.md)", default=False)


class Wave2FlowsConfig(Strict):
    """Wave 2 services beyond document feeding (domain §1): consultation of Mon espace santé
    from the professional's software, integration of documents received by MSSanté, DRIMbox
    image sharing. Keys of each table are sectors of the scenario."""

    software: dict[str, CampaignConfig] = unit("campaign", "per wave 1 sector, deployment of its wave 2 software update (a wave 2 sector's own Ségur software is wave 2 software)", default_factory=dict)
    consultation: dict[str, PerEpisode] = unit("consultations/episode", "per sector, Mon espace santé consultations from the software per episode of care, once its wave 2 software is installed", default_factory=dict)
    drimbox: dict[str, PerEpisode] = unit("image shares/episode", "per sector, exams whose images are shared through a DRIMbox, per episode, once its wave 2 software is installed", default_factory=dict)
    integration: dict[str, Probability] = unit("share", "per receiving sector, documents received by MSSanté that the wave 2 software integrates into the patient's record", default_factory=dict)


InterventionKind = Literal["rule", "outage", "parameter", "campaign", "launch", "funding", "deadline", "rollout",
                           "vendor_failure", "new_document_type", "target", "obligation"]


class Intervention(Strict):
    """A dated change: a rule, an outage, a parameter change, a campaign, a sector launch, a
    software vendor failing for a time, a new document type, a target's new value."""

    date: Date = unit("date", "when it takes effect")
    kind: InterventionKind = unit("kind", "rule | outage | parameter | campaign | launch | funding | deadline | rollout | vendor_failure | new_document_type | target | obligation")
    label: str = unit("text", "what it stands for", default="")
    rule: str | None = unit("rule", "the rule switched on (kind = rule): a switch of the DMP rule table (agents/dmp_rules.py: require_qualified_identity, reject_legacy_software…) or eprescription_mandatory", default=None)
    service: Literal["dmp", "mssante", "insi"] | None = unit("service", "the service that goes down (kind = outage); insi: no identity lookup succeeds while it lasts", default=None)
    operator: Literal["mailiz", "establishment", "regional", "vendor", "mes"] | None = unit("operator", "outage of service = mssante only: the MSSanté operator that fails (its senders' messages wait, then bounce; mes: the patients' mailboxes); none = the whole network", default=None)
    days: PositiveFloat | None = unit("days", "duration of an outage, campaign or vendor failure; funding: its window (orders placed within it); deadline: days the installation deadline moves later", default=None, le=MAX_DAYS)
    max_wait_days: Days | None = unit("days", "outage: outbox wait before drop during this outage; vendor_failure: documents held longer than this at recovery are lost, never sent (none = all are sent on recovery)", default=None)
    path: str | None = unit("dotted key", "parameter changed (kind = parameter / campaign), e.g. sectors.gp.uptake_q", default=None)
    value: float | None = unit("as the parameter", "new value (kind = parameter; kind = target: documents/year from the date)", default=None)
    factor: PositiveFloat | None = unit("factor", "multiplier applied for `days` (kind = campaign)", default=None, le=1000)
    sector: str | None = unit("sector", "sector launched (kind = launch), funded (funding), whose deadline moves (deadline), rolled out (rollout), whose vendor fails (vendor_failure) or that starts a document type (new_document_type), or obliged (obligation)", default=None)
    euros_per_facility: NonNegFloat | None = unit("€/facility", "funding: euros offered per facility of the sector (or envelope_euros)", default=None, le=1e9)
    envelope_euros: NonNegFloat | None = unit("€", "funding: the sector's envelope, shared among its facilities (national count)", default=None, le=1e12)
    departements: list[str] | None = unit("INSEE codes", "rollout: départements where the sector's campaign is launched on this date (the others keep the national dates)", default=None)
    vendor: str | None = unit("vendor", "software vendor that fails (kind = vendor_failure): a name of sectors.<sector>.vendors", default=None)
    doc_type: str | None = unit("LOINC code", "new_document_type: the type the sector starts producing, from the catalogue scenarios/data/document_types.csv; obligation: the type to feed from the date ('*' = every type of the sector)", default=None)
    per_episode: PerEpisode | None = unit("documents/episode", "documents of doc_type per episode from the date (kind = new_document_type; replaces the rate if the sector already produces it)", default=None)
    target: str | None = unit("target", "target whose value changes from the date (kind = target): a key of [targets]", default=None)
    ceiling: Probability | None = unit("share", "obligation only: the type's ceiling the sector moves to (default 1)", default=None)
    half_life_days: PositiveFloat | None = unit("days", "obligation only: days in which the ceiling goes half of the way (default 90)", default=None, le=MAX_DAYS)

    @field_validator("rule")
    @classmethod
    def _a_known_rule(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The rules the loader's caller knows (its ``Reference``: the DMP rule table's switches
        and the other modules' rules); unchecked when validated without them."""
        allowed = (info.context or {}).get("rules")
        if value is not None and allowed and value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} (got {value!r})")
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Intervention:
        need = {
            "rule": ["rule"],
            "outage": ["service", "days"],
            "parameter": ["path", "value"],
            "campaign": ["path", "factor", "days"],
            "launch": ["sector"],
            "funding": ["sector", "days"],
            "deadline": ["sector", "days"],
            "rollout": ["sector", "departements"],
            "vendor_failure": ["sector", "vendor", "days"],
            "new_document_type": ["sector", "doc_type", "per_episode"],
            "target": ["target", "value"],
            "obligation": ["sector", "doc_type"],
        }[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"an intervention of kind '{self.kind}' needs {', '.join(missing)}")
        if self.kind == "funding" and (self.euros_per_facility is None) == (self.envelope_euros is None):
            raise ValueError("an intervention of kind 'funding' needs exactly one of euros_per_facility, envelope_euros")
        if self.kind == "rollout" and not self.departements:
            raise ValueError("an intervention of kind 'rollout' needs departements: a non-empty list of INSEE codes")
        if self.kind == "target" and not (0 < self.value <= 1e15):  # type: ignore[operator]
            raise ValueError(f"value: a target's value is documents a year, > 0 and at most 1e15 (got {self.value})")
        if self.operator is not None and (self.kind != "outage" or self.service != "mssante"):
            raise ValueError("operator is only for an outage of service = 'mssante' (the MSSanté operator that fails)")
        return self


class Scenario(Strict):
    """A whole scenario, as resolved after `extends` and validated."""

    name: str = unit("text", "short name of the scenario: letters, digits, '_', '-', '.' (it names the results folder)")
    description: str = unit("text", "the question the scenario answers", default="")
    extends: str | None = unit("path", "scenario this one overlays (relative to this file)", default=None)
    country: str = unit("name", "country assumptions read from scenarios/data/<country>.toml (holidays, population, MSSanté)",
                        default="france")
    run: RunConfig
    population: PopulationConfig
    profiles: ProfilesConfig
    dmp: DmpConfig
    mssante: MssanteConfig
    sectors: dict[str, SectorConfig]
    identity: IdentityConfig = unit("section", "identity qualification per person: INSi lookups, retries, ID checks", default_factory=IdentityConfig)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    interventions: list[Intervention] = Field(default_factory=list)
    payload_sample: int = unit("documents", "documents rendered as FHIR and validated per run (stratified)", default=200, ge=0, le=1_000_000)
    eprescription: EprescriptionConfig | None = unit("section", "e-prescription base and dispensations (none: not simulated)", default=None)
    wave2_flows: Wave2FlowsConfig | None = unit("section", "wave 2 consultation, integration and DRIMbox flows (none: not simulated)", default=None)

    _name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))

    @model_validator(mode="after")
    def _targets_by_wave(self) -> Scenario:
        """A target given a wave (``sectors = "wave2"``) counts every sector of that wave."""
        for key, target in self.targets.items():
            if isinstance(target.sectors, str):
                wave = int(target.sectors[-1])
                names = [name for name, sector in self.sectors.items() if sector.wave == wave]
                self.targets[key] = target.model_copy(update={"sectors": names})
        return self

    @model_validator(mode="after")
    def _fits(self) -> Scenario:
        problem = size_problem(self, self.run.scale)
        if problem:
            raise ValueError(problem)
        return self


# -- what a scale asks of the machine -----------------------------------------------------------
BYTES_PER_PATIENT = 64  # measured: a national run (68M patients) peaks at ~3.5 GiB
BYTES_PER_FACILITY = 1024
BYTES_PER_DOCUMENT = 64  # a day's documents are drawn one row each
MAX_AGENTS = 2**31 - 1  # agent indices are 32-bit
UNFLOORED_SECTORS = ("gp",)  # simulated one per 1/scale whatever run.min_facilities (reported one by one)


def memory_bytes() -> int | None:
    """Physical memory of this machine (None where the OS does not tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return None


def _gb(n: float) -> str:
    return f"{n / 2**30:,.1f} GB"


def size_problem(sc: Any, scale: float) -> str | None:
    """Why ``sc`` cannot run at ``scale``: too many agents for memory (how much it would need),
    or so few that a sector or the population has no simulated agent (the smallest usable
    scale). None when it can."""
    patients = sc.population.size * scale
    facilities = sum(max(s.facilities * scale, min(s.facilities, sc.run.min_facilities)) for s in sc.sectors.values())
    need = patients * BYTES_PER_PATIENT + facilities * BYTES_PER_FACILITY
    have = memory_bytes()
    per_day = sum(max(s.facilities * scale, min(s.facilities, sc.run.min_facilities)) * s.episodes_per_day
                  * max(s.weekly) * max(s.seasonal) * max(1.0, sum(s.documents.values())) for s in sc.sectors.values())
    if have is not None and per_day * BYTES_PER_DOCUMENT > have:
        return (f"the sectors' facilities × episodes_per_day × documents at scale {scale:g} make about "
                f"{per_day:,.0f} simulated documents a day, which would need about {_gb(per_day * BYTES_PER_DOCUMENT)} "
                f"of memory; this machine has {_gb(have)}; lower the scale or the activity")
    if max(patients, facilities) > MAX_AGENTS or (have is not None and need > have):
        mem = f"; this machine has {_gb(have)}" if have is not None else ""
        return (f"population.size × scale = {patients:,.0f} simulated patients and {facilities:,.0f} facilities "
                f"would need about {_gb(need)} of memory{mem}; lower the scale or the counts")
    counts = {"population": sc.population.size}
    for name, s in sc.sectors.items():
        if name in UNFLOORED_SECTORS or sc.run.min_facilities == 0:
            counts[f"sectors.{name}.facilities"] = s.facilities
    short = {k: n for k, n in counts.items() if n * scale < 1}
    if short:
        smallest = max(1.0 / n for n in counts.values())
        key, n = min(short.items(), key=lambda kv: kv[1])
        return (f"scale {scale:g} is too small: {key} ({n:,}) would have no simulated agent "
                f"({n:,} × {scale:g} < 1); the smallest usable scale is {_round_up(smallest)}")
    return None


def _round_up(x: float) -> str:
    """``x`` rounded up to two significant digits, as text."""
    e = math.floor(math.log10(x)) - 1
    return f"{math.ceil(x / 10**e - 1e-9) * 10**e:.2g}"

"""The words synthetic data is made of: 12 product categories with their vocabularies and
median prices, 9 customer tastes (weighted mixes of categories), and the names and
e-mail domains customers are given."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One product category and the vocabulary its products are described with."""

    name: str
    median_price: float
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    details: tuple[str, ...]
    uses: tuple[str, ...]
    features: tuple[str, ...]


def _category(name: str, median_price: float, **vocabulary: str) -> Category:
    """A category whose vocabulary lists are given as "a | b | c" strings."""
    words = {key: tuple(w.strip() for w in text.split("|")) for key, text in vocabulary.items()}
    return Category(name, median_price, **words)


CATEGORIES: tuple[Category, ...] = (
    _category(
        "Coffee & Tea",
        14.0,
        adjectives="Single-Origin | Dark Roast | Organic | Barista | Artisan | Fairtrade | Morning",
        nouns=(
            "Espresso Beans | Ground Coffee | Loose Leaf Tea | Matcha Powder |"
            " Pour-Over Kettle | Burr Grinder | French Press | Milk Frother | Tea Infuser |"
            " Coffee Filters | Cold Brew Maker | Chai Blend"
        ),
        variants="250g | 500g | 1kg | 350ml | 1L | Set of 2",
        details=(
            "a rich chocolate and caramel profile | a borosilicate glass body |"
            " a stainless steel finish | a ceramic burr | whole-leaf green tea |"
            " beans roasted in small batches"
        ),
        uses=(
            "slow weekend brewing | a quick morning espresso | the office kitchen |"
            " afternoon tea | cafe-style lattes at home"
        ),
        features=(
            "Brews a smooth cup with a golden crema |"
            " Brings out notes of cocoa, citrus and toasted nuts |"
            " Gives a clean, sediment-free cup every time |"
            " Keeps water at the ideal brewing temperature"
        ),
    ),
    _category(
        "Running Gear",
        45.0,
        adjectives=(
            "Lightweight | Breathable | Trail | Reflective | Marathon | Cushioned | Insulated"
        ),
        nouns=(
            "Running Shoes | Trail Shoes | Running Socks | Hydration Vest | Water Bottle |"
            " Running Tights | Rain Jacket | Running Cap | Sports Watch | Compression Sleeves |"
            " Race Belt | Energy Gels"
        ),
        variants="Size S | Size M | Size L | 500ml | 750ml | Pack of 3",
        details=(
            "recycled mesh | merino wool | ripstop nylon | a breathable knit upper |"
            " a waterproof membrane | a grippy rubber outsole"
        ),
        uses=(
            "long trail runs | marathon training | early-morning jogs | race day |"
            " wet-weather running"
        ),
        features=(
            "Wicks sweat away to keep you dry mile after mile |"
            " Reflective details keep you visible after dark |"
            " Cushioning absorbs impact on long runs | Packs down small for race day"
        ),
    ),
    _category(
        "Baby Care",
        18.0,
        adjectives="Gentle | Newborn | Hypoallergenic | Sensitive | Soothing | Anti-Colic | Cosy",
        nouns=(
            "Baby Wipes | Nappies | Baby Bottle | Teething Ring | Swaddle Blanket |"
            " Baby Bodysuit | Nappy Cream | Baby Monitor | Changing Mat | Sleep Sack |"
            " Bath Thermometer | Soft Rattle"
        ),
        variants="0-3 Months | 3-6 Months | Pack of 64 | Pack of 3 | 260ml | Size 2",
        details=(
            "organic cotton | BPA-free plastic | food-grade silicone | bamboo fibre |"
            " breathable muslin | natural rubber"
        ),
        uses=(
            "newborn night feeds | sensitive baby skin | nappy changes on the go |"
            " safe and settled sleep | bath time"
        ),
        features=(
            "Dermatologically tested and fragrance free |"
            " Soft enough for delicate newborn skin | Helps your little one settle to sleep |"
            " Easy to sterilise and clean"
        ),
    ),
    _category(
        "Gardening",
        22.0,
        adjectives="Heavy-Duty | Ergonomic | Weatherproof | Heritage | Galvanised | Cottage",
        nouns=(
            "Pruning Shears | Hand Trowel | Watering Can | Seed Tray | Raised Bed |"
            " Compost Bin | Garden Gloves | Hose Reel | Plant Feed | Bird Feeder | Herb Seeds |"
            " Terracotta Pot"
        ),
        variants="5L | 10L | 30cm | 45cm | Pack of 6 | Large",
        details=(
            "galvanised steel | frost-proof terracotta | recycled plastic |"
            " FSC-certified timber | a carbon steel blade | nitrile-coated fabric"
        ),
        uses=(
            "vegetable patches | balcony containers | pruning roses | sowing seeds in spring |"
            " lawn and border care"
        ),
        features=(
            "Built to withstand frost, rain and summer sun |"
            " Makes clean cuts that help plants heal |"
            " Encourages strong roots and healthy growth |"
            " Attracts birds and pollinators to the garden"
        ),
    ),
    _category(
        "Board Games",
        30.0,
        adjectives="Family | Strategic | Cooperative | Classic | Deluxe | Fantasy | Quick-Play",
        nouns=(
            "Strategy Game | Card Game | Jigsaw Puzzle | Dice Set | Party Game |"
            " Cooperative Game | Chess Set | Deck-Building Game | Word Game | Trivia Game |"
            " Expansion Pack | Game Mat"
        ),
        variants=(
            "2-4 Players | 2-6 Players | 1000 Pieces | 500 Pieces | Travel Edition |"
            " Collector's Edition"
        ),
        details=(
            "wooden tokens | linen-finish cards | a sturdy board | detailed miniatures |"
            " a drawstring dice bag | metal coins"
        ),
        uses=(
            "family game night | two-player evenings | parties with friends | solo puzzling |"
            " long strategy sessions"
        ),
        features=(
            "Easy to learn, with hours of replay value | Each game plays in under an hour |"
            " Rewards clever tactics and a little bluffing | Gets the whole table laughing"
        ),
    ),
    _category(
        "Pet Supplies",
        16.0,
        adjectives="Grain-Free | Durable | Calming | Orthopaedic | Natural | Interactive | Puppy",
        nouns=(
            "Dog Food | Cat Litter | Chew Toy | Dog Lead | Cat Scratcher | Pet Bed |"
            " Grooming Brush | Treat Pouch | Dog Harness | Cat Food | Pet Shampoo |"
            " Litter Tray"
        ),
        variants="2kg | 10kg | Small | Medium | Large | Pack of 12",
        details=(
            "natural rubber | memory foam | sisal rope | padded nylon webbing |"
            " salmon and sweet potato | clumping clay"
        ),
        uses=(
            "daily dog walks | indoor cats | teething puppies | senior dogs | bath time for pets"
        ),
        features=(
            "Vet-approved recipe with no artificial colours |"
            " Tough enough for enthusiastic chewers |"
            " Keeps your pet calm, clean and comfortable |"
            " Supports healthy joints, skin and coat"
        ),
    ),
    _category(
        "Home Office",
        60.0,
        adjectives="Ergonomic | Adjustable | Wireless | Minimalist | Compact | Dimmable | Foldable",
        nouns=(
            "Desk Lamp | Office Chair | Monitor Stand | Keyboard | Paper Notebook |"
            " Desk Organiser | Webcam | Laptop Stand | Cable Tray | Standing Desk Mat |"
            " Headset | Whiteboard"
        ),
        variants="Black | White | Oak | A5 | A4 | 120cm",
        details=(
            "brushed aluminium | solid bamboo | breathable mesh | recycled paper |"
            " tempered glass | a weighted base"
        ),
        uses=(
            "video calls | long working days | a tidy desk | remote work | focused study sessions"
        ),
        features=(
            "Reduces strain on neck, back and wrists | Sets up in minutes without tools |"
            " Keeps cables and clutter out of sight |"
            " Makes long meetings easier on the eyes and ears"
        ),
    ),
    _category(
        "Camping",
        50.0,
        adjectives="Waterproof | Ultralight | Four-Season | Packable | Rugged | Expedition",
        nouns=(
            "Sleeping Bag | Dome Tent | Camping Stove | Head Torch | Sleeping Mat |"
            " Camping Chair | Cool Box | Water Filter | Mess Tin | Tarp | Camp Lantern |"
            " Dry Bag"
        ),
        variants="1-Person | 2-Person | 4-Person | 20L | -5C Rated | 500 Lumens",
        details=(
            "ripstop nylon | duck down fill | titanium | aluminium alloy poles | waxed canvas |"
            " closed-cell foam"
        ),
        uses=(
            "wild camping | festival weekends | backpacking trips |"
            " cold nights under the stars | family campsites"
        ),
        features=(
            "Pitches in minutes, even in the rain | Packs small and weighs next to nothing |"
            " Keeps you warm when the temperature drops |"
            " Survives rough trails and muddy campsites"
        ),
    ),
    _category(
        "Skincare",
        20.0,
        adjectives="Hydrating | Brightening | Vitamin C | Retinol | Fragrance-Free | Mineral",
        nouns=(
            "Face Serum | Moisturiser | Gel Cleanser | Sunscreen | Eye Cream | Night Cream |"
            " Sheet Mask | Toner | Lip Balm | Body Lotion | Exfoliating Scrub |"
            " Micellar Water"
        ),
        variants="30ml | 50ml | 100ml | 200ml | SPF 30 | SPF 50",
        details=(
            "hyaluronic acid | niacinamide | shea butter | aloe vera | jojoba oil | zinc oxide"
        ),
        uses=(
            "dry skin | sensitive skin | a morning routine | overnight repair |"
            " daily sun protection"
        ),
        features=(
            "Absorbs quickly without a greasy finish | Dermatologist tested and cruelty free |"
            " Visibly smooths and brightens the skin | Locks in moisture all day"
        ),
    ),
    _category(
        "Kitchen & Baking",
        15.0,
        adjectives="Non-Stick | Professional | Heavy-Gauge | Springform | Heat-Resistant | Bakery",
        nouns=(
            "Cake Tin | Mixing Bowl | Stand Mixer | Rolling Pin | Baking Sheet | Piping Set |"
            " Cooling Rack | Measuring Cups | Silicone Spatula | Loaf Tin | Bread Flour |"
            " Cookie Cutters"
        ),
        variants="20cm | 23cm | 900g | 1.5kg | Set of 3 | 5L",
        details=(
            "carbon steel | food-grade silicone | beech wood | stainless steel |"
            " vitreous enamel | stoneware"
        ),
        uses=(
            "sourdough loaves | birthday cakes | weekend baking with kids | crisp cookies |"
            " pastry making"
        ),
        features=(
            "Bakes evenly to a golden crust | Cakes release cleanly every time |"
            " Dishwasher safe and built to last | Makes light, airy sponges and doughs"
        ),
    ),
    _category(
        "Cycling",
        40.0,
        adjectives="Aero | Commuter | Road | Mountain | High-Visibility | Gravel | Rechargeable",
        nouns=(
            "Bike Helmet | Bike Lights | Cycling Jersey | Padded Shorts | Bike Lock |"
            " Mini Pump | Inner Tube | Saddle Bag | Chain Lube | Cycling Gloves | Bottle Cage |"
            " Multi-Tool"
        ),
        variants="700x28c | 29in | Size M | Size L | 400 Lumens | Pack of 2",
        details=(
            "carbon fibre | hardened steel | aluminium alloy | stretch Lycra |"
            " a polycarbonate shell | chamois padding"
        ),
        uses=(
            "daily commuting | long road rides | mountain bike trails | night riding |"
            " roadside repairs"
        ),
        features=(
            "Keeps you seen in traffic day and night | Light without compromising on strength |"
            " Fits all standard frames and wheels | Stays comfortable in the saddle for hours"
        ),
    ),
    _category(
        "Books & Fiction",
        12.0,
        adjectives="Bestselling | Award-Winning | Gripping | Debut | Epic | Illustrated | Classic",
        nouns=(
            "Crime Novel | Fantasy Novel | Science Fiction Novel | Historical Novel |"
            " Short Story Collection | Poetry Anthology | Thriller | Romance Novel |"
            " Graphic Novel | Literary Novel | Audiobook | Book Box Set"
        ),
        variants="Paperback | Hardback | Volume 1 | Volume 2 | Large Print | Special Edition",
        details=(
            "a twisting plot | unforgettable characters | a sweeping world | lyrical prose |"
            " an author's afterword | illustrated chapter openings"
        ),
        uses=(
            "cosy evenings | the daily commute | book club discussions | holiday reading |"
            " bedtime reading"
        ),
        features=(
            "A story you will not be able to put down | Ends with a twist nobody sees coming |"
            " Praised by critics and readers alike | The first chapter of a much-loved series"
        ),
    ),
)


@dataclass(frozen=True)
class Taste:
    """A customer persona: a weighted mix of categories (by name)."""

    name: str
    share: float
    mix: tuple[tuple[str, float], ...]


TASTES: tuple[Taste, ...] = (
    Taste(
        "coffee lovers",
        0.13,
        (("Coffee & Tea", 0.7), ("Kitchen & Baking", 0.2), ("Books & Fiction", 0.1)),
    ),
    Taste("runners", 0.11, (("Running Gear", 0.7), ("Cycling", 0.2), ("Skincare", 0.1))),
    Taste("new parents", 0.10, (("Baby Care", 0.7), ("Coffee & Tea", 0.2), ("Home Office", 0.1))),
    Taste(
        "gardeners", 0.12, (("Gardening", 0.75), ("Pet Supplies", 0.15), ("Kitchen & Baking", 0.1))
    ),
    Taste("board gamers", 0.09, (("Board Games", 0.75), ("Books & Fiction", 0.25))),
    Taste("pet owners", 0.13, (("Pet Supplies", 0.8), ("Gardening", 0.2))),
    Taste(
        "remote workers",
        0.12,
        (("Home Office", 0.65), ("Coffee & Tea", 0.25), ("Books & Fiction", 0.1)),
    ),
    Taste(
        "outdoor adventurers", 0.10, (("Camping", 0.6), ("Cycling", 0.25), ("Running Gear", 0.15))
    ),
    Taste("skincare fans", 0.10, (("Skincare", 0.8), ("Books & Fiction", 0.2))),
)


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words of `text`."""
    return tuple(text.split())


FIRST_NAMES = _words(
    "olivia liam emma noah amelia oliver sophia elijah isla james mia lucas ava mateo freya "
    "leo grace arjun chloe kenji zara omar nina ivan lena tomas aisha david maya samuel "
    "hannah felix priya jonas elena marco sara diego ruby yusuf"
)
LAST_NAMES = _words(
    "smith jones taylor brown williams wilson johnson davies patel wright walker thompson "
    "white edwards green hall wood harris martin jackson clarke lewis khan nguyen garcia "
    "muller rossi silva kowalski tanaka novak okafor larsen dubois moreau fischer costa ahmed "
    "kim santos"
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
CHANGED_EMAIL_DOMAINS = ("mail.example.com", "inbox.example.org")
